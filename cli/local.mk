# herald CLI: the "herald" command, linked against libherald only (public API).
bin_PROGRAMS += cli/herald
cli_herald_SOURCES = \
	cli/cli.h cli/cli_util.c cli/main.c \
	cli/cmd_check.c cli/cmd_devices.c cli/cmd_send.c cli/cmd_route.c \
	cli/cmd_options.c cli/compose.c cli/batch.c cli/jsonl.c cli/jsonl.h
# The durable queue's commands (owner: queue).
cli_herald_SOURCES += cli/cmd_queue.c
# "herald probe" (owner: probe).
cli_herald_SOURCES += cli/cmd_probe.c
cli_herald_CFLAGS = $(AM_CFLAGS)
cli_herald_LDADD = core/libherald.la

# herald-sendmail, the sendmail-compatible entry point (owner: sendmail);
# the administrator links /usr/sbin/sendmail to it.  -bp and -q are the
# queue's own commands (cmd_queue.c).
sbin_PROGRAMS += cli/herald-sendmail
cli_herald_sendmail_SOURCES = \
	cli/sendmail.h cli/sendmail_main.c cli/sendmail_opts.c cli/sendmail_headers.c \
	cli/sendmail_input.c cli/cli.h cli/cli_util.c cli/cmd_queue.c
cli_herald_sendmail_CFLAGS = $(AM_CFLAGS)
cli_herald_sendmail_LDADD = core/libherald.la

# Unit test of herald-sendmail's option parsing and header recipients.
check_PROGRAMS += cli/test_sendmail
cli_test_sendmail_SOURCES = cli/test_sendmail.c cli/sendmail.h cli/sendmail_opts.c \
	cli/sendmail_headers.c cli/cli_util.c cli/cli.h
cli_test_sendmail_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
cli_test_sendmail_LDADD = core/libherald.la $(CUNIT_LIBS)
TESTS += cli/test_sendmail

# Unit test of the helpers (JSON strings, escaping, exit codes).
check_PROGRAMS += cli/test_cli_util
cli_test_cli_util_SOURCES = cli/test_cli_util.c cli/cli_util.c cli/cli.h
cli_test_cli_util_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
cli_test_cli_util_LDADD = core/libherald.la $(CUNIT_LIBS)
TESTS += cli/test_cli_util

# Unit test of the strict JSON-lines parser of send --batch, hostile lines included.
check_PROGRAMS += cli/test_jsonl
cli_test_jsonl_SOURCES = cli/test_jsonl.c cli/jsonl.c cli/jsonl.h cli/cli_util.c cli/cli.h
cli_test_jsonl_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
cli_test_jsonl_LDADD = core/libherald.la $(CUNIT_LIBS)
TESTS += cli/test_jsonl

# "make installcheck" (and so "make distcheck") runs the CLI integration tests
# against the INSTALLED herald and modules.  Without DESTDIR, HERALD_PLUGIN_PATH
# is unset so the compiled-in module folder is what gets used; with DESTDIR the
# installed files are not where they were compiled to look, so point at them.
# probe.sh and the herald-sendmail tests need only the installed programs and
# modules and the source tree's servers, so they run here too.
herald_installed_tests = $(herald_cli_tests) $(herald_probe_tests) $(herald_sendmail_tests)
installcheck-local:
	@fail=0; \
	if test -n '$(DESTDIR)'; then \
	  plugin_env="HERALD_PLUGIN_PATH=$(DESTDIR)$(pkglibdir) LD_LIBRARY_PATH=$(DESTDIR)$(libdir)"; \
	else \
	  plugin_env=; \
	fi; \
	for t in $(herald_installed_tests); do \
	  if env -u HERALD_PLUGIN_PATH -u HERALD_CONF $$plugin_env \
	      HERALD_BIN='$(DESTDIR)$(bindir)/herald' \
	      HERALD_SENDMAIL_BIN='$(DESTDIR)$(sbindir)/herald-sendmail' \
	      HERALD_SRC_DIR='$(abs_top_srcdir)' \
	      HERALD_BUILD_DIR='$(abs_top_builddir)' \
	      TEST_PYTHON='$(TEST_PYTHON)' \
	      $(SHELL) '$(srcdir)/'$$t; then \
	    echo "PASS: $$t (installed herald)"; \
	  else \
	    echo "FAIL: $$t (installed herald)"; fail=1; \
	  fi; \
	done; \
	test $$fail -eq 0
