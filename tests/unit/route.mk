# Unit tests of route planning (owner: route): pure steps of the strategies.
check_PROGRAMS += tests/unit/test_route_sort
TESTS += tests/unit/test_route_sort

# mx_order.c is internal to libherald: the convenience library.
tests_unit_test_route_sort_SOURCES = tests/unit/test_route_sort.c
tests_unit_test_route_sort_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_route_sort_LDADD = $(herald_internal_ldadd) $(CUNIT_LIBS)

# The request/plan API of core/route.c, driven by a fake strategy.
check_PROGRAMS += tests/unit/test_route_plan
TESTS += tests/unit/test_route_plan
tests_unit_test_route_plan_SOURCES = tests/unit/test_route_plan.c
tests_unit_test_route_plan_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
# route_env_close() is internal: the convenience library.
tests_unit_test_route_plan_LDADD = $(herald_internal_ldadd) $(CUNIT_LIBS)

# "herald route" against dnsmasq on loopback (owner: route).
dist_check_SCRIPTS += tests/integration/route_plan.sh
TESTS += tests/integration/route_plan.sh

# Kept plans at the dns.cache_entries bound (core/plan_share.c), against dnsmasq.
check_PROGRAMS += tests/unit/test_plan_share
TESTS += tests/unit/test_plan_share
tests_unit_test_plan_share_SOURCES = tests/unit/test_plan_share.c \
	tests/unit/test_servers.c tests/unit/test_servers.h
tests_unit_test_plan_share_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_plan_share_LDADD = $(herald_internal_ldadd) $(CUNIT_LIBS)
