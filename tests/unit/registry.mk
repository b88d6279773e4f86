# Unit tests of the module loader and registry (owner: reg).
# The test modules are built only for `make check`; each is a KIND-NAME.so in
# tests/modules/.libs (HERALD_TEST_MODULES), copied by the test into a private
# directory per case.
check_LTLIBRARIES += \
	tests/modules/device-good.la \
	tests/modules/device-newabi.la \
	tests/modules/device-newminor.la \
	tests/modules/device-nosym.la \
	tests/modules/device-badmagic.la \
	tests/modules/device-kindroute.la \
	tests/modules/device-badname.la \
	tests/modules/device-oldminor.la \
	tests/modules/device-shortops.la \
	tests/modules/route-noplan.la \
	tests/modules/transport-bigops.la \
	tests/modules/route-silent.la \
	tests/modules/route-empty.la \
	tests/modules/route-twice.la \
	tests/modules/device-stuck.la \
	tests/modules/device-oldjob.la \
	tests/modules/device-newjob.la \
	tests/modules/transport-words.la

tests_modules_device_good_la_SOURCES = tests/modules/device_good.c
tests_modules_device_good_la_LDFLAGS = $(herald_test_module_ldflags)
tests_modules_device_newabi_la_SOURCES = tests/modules/device_newabi.c
tests_modules_device_newabi_la_LDFLAGS = $(herald_test_module_ldflags)
tests_modules_device_newminor_la_SOURCES = tests/modules/device_newminor.c
tests_modules_device_newminor_la_LDFLAGS = $(herald_test_module_ldflags)
tests_modules_device_nosym_la_SOURCES = tests/modules/device_nosym.c
tests_modules_device_nosym_la_LDFLAGS = $(herald_test_module_ldflags)
tests_modules_device_badmagic_la_SOURCES = tests/modules/device_badmagic.c
tests_modules_device_badmagic_la_LDFLAGS = $(herald_test_module_ldflags)
tests_modules_device_kindroute_la_SOURCES = tests/modules/device_kindroute.c
tests_modules_device_kindroute_la_LDFLAGS = $(herald_test_module_ldflags)
tests_modules_device_badname_la_SOURCES = tests/modules/device_badname.c
tests_modules_device_badname_la_LDFLAGS = $(herald_test_module_ldflags)
# The operations-table rule (core/module_abi.c): one module per refusal, and
# one built for an older minor that must load and work (it calls the core).
tests_modules_device_oldminor_la_SOURCES = tests/modules/device_oldminor.c
tests_modules_device_oldminor_la_LDFLAGS = $(herald_test_module_ldflags)
tests_modules_device_oldminor_la_LIBADD = core/libherald.la
tests_modules_device_shortops_la_SOURCES = tests/modules/device_shortops.c
tests_modules_device_shortops_la_LDFLAGS = $(herald_test_module_ldflags)
tests_modules_route_noplan_la_SOURCES = tests/modules/route_noplan.c
tests_modules_route_noplan_la_LDFLAGS = $(herald_test_module_ldflags)
tests_modules_transport_bigops_la_SOURCES = tests/modules/transport_bigops.c
tests_modules_transport_bigops_la_LDFLAGS = $(herald_test_module_ldflags)
# The route guard (core/route.c) and the outcome of a delivery nobody ends.
tests_modules_route_silent_la_SOURCES = tests/modules/route_silent.c
tests_modules_route_silent_la_LDFLAGS = $(herald_test_module_ldflags)
tests_modules_route_empty_la_SOURCES = tests/modules/route_empty.c
tests_modules_route_empty_la_LDFLAGS = $(herald_test_module_ldflags)
tests_modules_route_empty_la_LIBADD = core/libherald.la
tests_modules_route_twice_la_SOURCES = tests/modules/route_twice.c
tests_modules_route_twice_la_LDFLAGS = $(herald_test_module_ldflags)
tests_modules_route_twice_la_LIBADD = core/libherald.la
tests_modules_device_stuck_la_SOURCES = tests/modules/device_stuck.c
tests_modules_device_stuck_la_LDFLAGS = $(herald_test_module_ldflags)
# struct herald_job_result read by a device built for ABI 2.3 (the parallel
# arrays) and by one built for this minor (rcpts[], checked against them).
tests_modules_device_oldjob_la_SOURCES = tests/modules/device_jobwords.c
tests_modules_device_oldjob_la_CPPFLAGS = $(AM_CPPFLAGS) -DJOBWORDS_OLD
tests_modules_device_oldjob_la_LDFLAGS = $(herald_test_module_ldflags)
tests_modules_device_oldjob_la_LIBADD = core/libherald.la
tests_modules_device_newjob_la_SOURCES = tests/modules/device_jobwords.c
tests_modules_device_newjob_la_LDFLAGS = $(herald_test_module_ldflags)
tests_modules_device_newjob_la_LIBADD = core/libherald.la
tests_modules_transport_words_la_SOURCES = tests/modules/transport_words.c
tests_modules_transport_words_la_LDFLAGS = $(herald_test_module_ldflags)
tests_modules_transport_words_la_LIBADD = core/libherald.la

check_PROGRAMS += tests/unit/test_registry
TESTS += tests/unit/test_registry

tests_unit_test_registry_SOURCES = tests/unit/test_registry.c
tests_unit_test_registry_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_registry_LDADD = $(herald_internal_ldadd) $(CUNIT_LIBS)
