# The queue runner's retry-state table (core/queue_hold.c) and the hop words of
# an outcome it reads (owner: queue); the runner itself is tested against
# real servers in tests/integration/queue_hop_hold.sh.
check_PROGRAMS += tests/unit/test_queue_hold
TESTS += tests/unit/test_queue_hold
tests_unit_test_queue_hold_SOURCES = tests/unit/test_queue_hold.c
tests_unit_test_queue_hold_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_queue_hold_LDADD = $(herald_internal_ldadd) $(CUNIT_LIBS)
