# Tests: each area keeps its own fragment.  Every test must be able to fail;
# none is skipped (a server that cannot start is a hard error, exit 99).
# The unit tests' one CUnit runner and one whole-file reader (headers only).
EXTRA_DIST += tests/unit/test_main.h tests/unit/test_file.h
include tests/unit/config.mk
include tests/unit/registry.mk
include tests/unit/runtime.mk
include tests/unit/delivery.mk
include tests/unit/route.mk
include tests/integration/integration.mk
include tests/integration/plugin.mk
include tests/unit/smtp.mk
include tests/unit/mime.mk
include tests/unit/compose.mk
include tests/unit/text.mk
include tests/unit/tls.mk
include tests/unit/queue.mk
include tests/integration/email.mk
include tests/integration/operator.mk
include tests/integration/queue.mk
include tests/integration/sendmail.mk
include tests/integration/sink.mk
include tests/integration/tls_server.mk
include tests/fuzz/fuzz.mk
