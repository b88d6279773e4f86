# Unit tests of messages, deliveries/outcomes and the file device (owner: msg).
check_PROGRAMS += tests/unit/test_message tests/unit/test_file_device
TESTS += tests/unit/test_message tests/unit/test_file_device

tests_unit_test_message_SOURCES = tests/unit/test_message.c
tests_unit_test_message_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_message_LDADD = core/libherald.la $(CUNIT_LIBS)

# test_file_device loads devices/.libs/device-file.so through the registry
# (HERALD_PLUGIN_PATH), so the module must be built first.
tests_unit_test_file_device_SOURCES = tests/unit/test_file_device.c
tests_unit_test_file_device_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
# Internals (delivery_new, the registry) come from the convenience library;
# -export-dynamic lets device-file.so bind to this program's copy of the core
# rather than to the one libherald.so loaded beside it.
tests_unit_test_file_device_LDADD = $(herald_internal_ldadd) $(CUNIT_LIBS)
tests_unit_test_file_device_LDFLAGS = $(AM_LDFLAGS) -export-dynamic
EXTRA_tests_unit_test_file_device_DEPENDENCIES = devices/device-file.la

# test_submit: herald_submit/herald_run through the public API, file devices.
check_PROGRAMS += tests/unit/test_submit
TESTS += tests/unit/test_submit
tests_unit_test_submit_SOURCES = tests/unit/test_submit.c
tests_unit_test_submit_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_submit_LDADD = core/libherald.la $(CUNIT_LIBS)
EXTRA_tests_unit_test_submit_DEPENDENCIES = devices/device-file.la
