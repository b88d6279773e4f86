# Runtime: event loop, trace, async DNS (owner: rt).
# The tests compile the few core files they exercise instead of linking
# libherald, so they do not depend on the rest of the core being complete.

check_PROGRAMS += tests/unit/test_loop tests/unit/test_trace
TESTS += tests/unit/test_loop tests/unit/test_trace

tests_unit_test_loop_SOURCES = tests/unit/test_loop.c core/loop.c
tests_unit_test_loop_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_loop_LDADD = $(CUNIT_LIBS)

tests_unit_test_trace_SOURCES = tests/unit/test_trace.c core/trace.c core/status.c
tests_unit_test_trace_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_trace_LDADD = $(CUNIT_LIBS)

# The resolver: dnsmasq and crafted responders on 127.0.0.1 (tests/lib/dns_servers.py).
check_PROGRAMS += tests/unit/test_dns
TESTS += tests/unit/test_dns
EXTRA_DIST += tests/lib/dns_servers.py

tests_unit_test_dns_SOURCES = tests/unit/test_dns.c core/dns.c core/dns_cache.c core/dns.h \
	core/hash_table.c core/hash_table.h \
	core/dns_wire.c core/dns_wire.h core/dns_udp.c core/dns_udp.h core/host.c \
	core/loop.c core/trace.c core/status.c
tests_unit_test_dns_CFLAGS = $(AM_CFLAGS) $(CARES_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_dns_LDADD = $(CARES_LIBS) $(CUNIT_LIBS)

# The answer table by itself: TTLs, negative answers, LRU bound, lookups in flight.
check_PROGRAMS += tests/unit/test_dns_cache
TESTS += tests/unit/test_dns_cache
tests_unit_test_dns_cache_SOURCES = tests/unit/test_dns_cache.c core/dns_cache.c core/dns.h \
	core/hash_table.c core/hash_table.h
tests_unit_test_dns_cache_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_dns_cache_LDADD = $(CUNIT_LIBS)

# The chained table under the DNS cache and the plan table, by itself.
check_PROGRAMS += tests/unit/test_hash_table
TESTS += tests/unit/test_hash_table
tests_unit_test_hash_table_SOURCES = tests/unit/test_hash_table.c core/hash_table.c \
	core/hash_table.h
tests_unit_test_hash_table_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_hash_table_LDADD = $(CUNIT_LIBS)

# Many domains against dnsmasq's query log and smtp-sink; route --batch (owner: dns).
dist_check_SCRIPTS += tests/integration/dns_scale.sh
TESTS += tests/integration/dns_scale.sh
