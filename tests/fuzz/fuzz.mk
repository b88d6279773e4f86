# Fuzz harnesses (owner: fuzz); tests/fuzz/README.md says how to use them.
#
# make check: each harness is linked with tests/fuzz/replay.c into a test
# that replays its seed corpus tests/fuzz/corpus/NAME (any violated
# invariant aborts: the test fails), built like every other test (the
# project's warnings, sanitizers when configured).
#
# make fuzz: the same harnesses with clang -fsanitize=fuzzer,address,undefined
# into tests/fuzz/libfuzzer/ in the build tree (not part of check; skipped
# with a message when $(CLANG) is not found).

fuzz_test_programs = tests/fuzz/fuzz_reply tests/fuzz/fuzz_ehlo tests/fuzz/fuzz_body \
	tests/fuzz/fuzz_address tests/fuzz/fuzz_params tests/fuzz/fuzz_smarthost \
	tests/fuzz/fuzz_mime7
fuzz_test_cflags = $(AM_CFLAGS) -I$(top_srcdir)/devices/email -I$(top_srcdir)/plugins
fuzz_test_cppflags = $(AM_CPPFLAGS) -DFUZZ_SRCDIR='"$(abs_top_srcdir)"'
fuzz_test_ldadd = devices/email/libsmtp.la core/libherald.la
fuzz_common = tests/fuzz/replay.c tests/fuzz/fuzz.h tests/fuzz/sbuf.h

check_PROGRAMS += $(fuzz_test_programs)
TESTS += $(fuzz_test_programs)
EXTRA_DIST += tests/fuzz/README.md tests/fuzz/corpus

tests_fuzz_fuzz_reply_SOURCES = tests/fuzz/fuzz_reply.c $(fuzz_common)
tests_fuzz_fuzz_reply_CPPFLAGS = $(fuzz_test_cppflags) -DFUZZ_CORPUS='"reply"'
tests_fuzz_fuzz_reply_CFLAGS = $(fuzz_test_cflags)
tests_fuzz_fuzz_reply_LDADD = $(fuzz_test_ldadd)

tests_fuzz_fuzz_ehlo_SOURCES = tests/fuzz/fuzz_ehlo.c $(fuzz_common)
tests_fuzz_fuzz_ehlo_CPPFLAGS = $(fuzz_test_cppflags) -DFUZZ_CORPUS='"ehlo"'
tests_fuzz_fuzz_ehlo_CFLAGS = $(fuzz_test_cflags)
tests_fuzz_fuzz_ehlo_LDADD = $(fuzz_test_ldadd)

tests_fuzz_fuzz_body_SOURCES = tests/fuzz/fuzz_body.c $(fuzz_common)
tests_fuzz_fuzz_body_CPPFLAGS = $(fuzz_test_cppflags) -DFUZZ_CORPUS='"body"'
tests_fuzz_fuzz_body_CFLAGS = $(fuzz_test_cflags)
# wire_count (SIZE=) is the core's, internal: the convenience library has it.
tests_fuzz_fuzz_body_LDADD = devices/email/libsmtp.la $(herald_internal_ldadd)

tests_fuzz_fuzz_address_SOURCES = tests/fuzz/fuzz_address.c $(fuzz_common)
tests_fuzz_fuzz_address_CPPFLAGS = $(fuzz_test_cppflags) -DFUZZ_CORPUS='"address"'
tests_fuzz_fuzz_address_CFLAGS = $(fuzz_test_cflags)
tests_fuzz_fuzz_address_LDADD = $(fuzz_test_ldadd)

tests_fuzz_fuzz_params_SOURCES = tests/fuzz/fuzz_params.c $(fuzz_common)
tests_fuzz_fuzz_params_CPPFLAGS = $(fuzz_test_cppflags) -DFUZZ_CORPUS='"params"'
tests_fuzz_fuzz_params_CFLAGS = $(fuzz_test_cflags)
tests_fuzz_fuzz_params_LDADD = $(fuzz_test_ldadd)

tests_fuzz_fuzz_mime7_SOURCES = tests/fuzz/fuzz_mime7.c $(fuzz_common)
tests_fuzz_fuzz_mime7_CPPFLAGS = $(fuzz_test_cppflags) -DFUZZ_CORPUS='"mime7"'
tests_fuzz_fuzz_mime7_CFLAGS = $(fuzz_test_cflags)
tests_fuzz_fuzz_mime7_LDADD = $(fuzz_test_ldadd)

# "host[:port]" entries: herald_hostport_parse, public in libherald (core/host.c).
tests_fuzz_fuzz_smarthost_SOURCES = tests/fuzz/fuzz_smarthost.c $(fuzz_common)
tests_fuzz_fuzz_smarthost_CPPFLAGS = $(fuzz_test_cppflags) -DFUZZ_CORPUS='"smarthost"'
tests_fuzz_fuzz_smarthost_CFLAGS = $(fuzz_test_cflags)
tests_fuzz_fuzz_smarthost_LDADD = $(fuzz_test_ldadd)

# --- make fuzz: libFuzzer builds -------------------------------------------
# Plain clang on the sources (each harness with only the Herald sources it
# needs), so the gcc-built libraries and their sanitizer runtime stay out.
CLANG = clang
FUZZ_CLANG_FLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
fuzz_bindir = tests/fuzz/libfuzzer
fuzz_clang = $(CLANG) $(FUZZ_CLANG_FLAGS) -std=c11 -Wall -Wextra \
	-include $(top_builddir)/config.h -I$(top_srcdir)/core \
	-I$(top_srcdir)/devices/email -I$(top_srcdir)/plugins
fuzz_hdr = $(top_srcdir)/tests/fuzz/fuzz.h $(top_srcdir)/tests/fuzz/sbuf.h
fuzz_core_src = $(top_srcdir)/core/message.c $(top_srcdir)/core/utf8.c \
	$(top_srcdir)/core/host.c $(top_srcdir)/core/status.c $(top_srcdir)/core/text.c

fuzz_reply_src = $(top_srcdir)/tests/fuzz/fuzz_reply.c $(top_srcdir)/devices/email/smtp_reply.c
fuzz_ehlo_src = $(top_srcdir)/tests/fuzz/fuzz_ehlo.c $(top_srcdir)/devices/email/smtp_reply.c \
	$(top_srcdir)/devices/email/smtp_ehlo.c
fuzz_body_src = $(top_srcdir)/tests/fuzz/fuzz_body.c $(top_srcdir)/devices/email/smtp_body.c \
	$(top_srcdir)/core/wire_count.c
fuzz_address_src = $(top_srcdir)/tests/fuzz/fuzz_address.c $(fuzz_core_src)
fuzz_params_src = $(top_srcdir)/tests/fuzz/fuzz_params.c \
	$(top_srcdir)/devices/email/smtp_params.c $(top_srcdir)/devices/email/smtp_body.c \
	$(fuzz_core_src)
fuzz_smarthost_src = $(top_srcdir)/tests/fuzz/fuzz_smarthost.c \
	$(top_srcdir)/core/host.c $(top_srcdir)/core/status.c $(top_srcdir)/core/text.c \
	$(top_srcdir)/core/utf8.c
fuzz_mime7_src = $(top_srcdir)/tests/fuzz/fuzz_mime7.c $(top_srcdir)/devices/email/mime_7bit.c \
	$(top_srcdir)/devices/email/smtp_body.c

fuzz_binaries = $(fuzz_bindir)/fuzz_reply $(fuzz_bindir)/fuzz_ehlo $(fuzz_bindir)/fuzz_body \
	$(fuzz_bindir)/fuzz_address $(fuzz_bindir)/fuzz_params $(fuzz_bindir)/fuzz_smarthost \
	$(fuzz_bindir)/fuzz_mime7

fuzz:
	@if command -v '$(CLANG)' >/dev/null 2>&1; then \
	  $(MAKE) $(AM_MAKEFLAGS) fuzz-build; \
	else \
	  echo "make fuzz: '$(CLANG)' not found: install clang (and libclang-rt) or pass CLANG=..."; \
	fi
fuzz-build: $(fuzz_binaries)
	@echo "libFuzzer harnesses in $(abs_top_builddir)/$(fuzz_bindir); see tests/fuzz/README.md"

$(fuzz_bindir)/fuzz_reply: $(fuzz_reply_src) $(fuzz_hdr) config.h
	@$(MKDIR_P) $(fuzz_bindir)
	$(fuzz_clang) -o $@ $(fuzz_reply_src)
$(fuzz_bindir)/fuzz_ehlo: $(fuzz_ehlo_src) $(fuzz_hdr) config.h
	@$(MKDIR_P) $(fuzz_bindir)
	$(fuzz_clang) -o $@ $(fuzz_ehlo_src)
$(fuzz_bindir)/fuzz_body: $(fuzz_body_src) $(fuzz_hdr) config.h
	@$(MKDIR_P) $(fuzz_bindir)
	$(fuzz_clang) -o $@ $(fuzz_body_src)
$(fuzz_bindir)/fuzz_address: $(fuzz_address_src) $(fuzz_hdr) config.h
	@$(MKDIR_P) $(fuzz_bindir)
	$(fuzz_clang) -o $@ $(fuzz_address_src)
$(fuzz_bindir)/fuzz_params: $(fuzz_params_src) $(fuzz_hdr) config.h
	@$(MKDIR_P) $(fuzz_bindir)
	$(fuzz_clang) -o $@ $(fuzz_params_src)
$(fuzz_bindir)/fuzz_smarthost: $(fuzz_smarthost_src) $(fuzz_hdr) config.h
	@$(MKDIR_P) $(fuzz_bindir)
	$(fuzz_clang) -o $@ $(fuzz_smarthost_src)
$(fuzz_bindir)/fuzz_mime7: $(fuzz_mime7_src) $(fuzz_hdr) config.h
	@$(MKDIR_P) $(fuzz_bindir)
	$(fuzz_clang) -o $@ $(fuzz_mime7_src)

clean-local: clean-fuzz
clean-fuzz:
	rm -rf $(fuzz_bindir)

.PHONY: fuzz fuzz-build clean-fuzz
