# bench: the throughput benchmark (bench/run.sh), run by "make bench" only.
# herald_blast is also a check program: tests/integration/email_session_cache.sh
# drives many messages through one device with it (the CLI sends one message).
check_PROGRAMS += bench/herald_blast
bench_herald_blast_SOURCES = bench/herald_blast.c
bench_herald_blast_CFLAGS = $(AM_CFLAGS)
bench_herald_blast_LDADD = core/libherald.la
# -no-install: a real binary in the build tree, not libtool's wrapper script,
# whose start-up would be timed with the run.
bench_herald_blast_LDFLAGS = $(AM_LDFLAGS) -no-install
# herald_enqueue: many messages into the queue through the batch API (group
# commit); the queue tests and bench "queue" mode use it.
check_PROGRAMS += bench/herald_enqueue
bench_herald_enqueue_SOURCES = bench/herald_enqueue.c
bench_herald_enqueue_CFLAGS = $(AM_CFLAGS)
bench_herald_enqueue_LDADD = core/libherald.la
bench_herald_enqueue_LDFLAGS = $(AM_LDFLAGS) -no-install
# herald_plans: route plans for many domains, cold then warm (bench "route" mode).
check_PROGRAMS += bench/herald_plans
bench_herald_plans_SOURCES = bench/herald_plans.c
bench_herald_plans_CFLAGS = $(AM_CFLAGS)
bench_herald_plans_LDADD = core/libherald.la
bench_herald_plans_LDFLAGS = $(AM_LDFLAGS) -no-install
EXTRA_DIST += bench/run.sh bench/RESULTS.md bench/NOTES.md bench/load.sh
EXTRA_DIST += bench/queue.sh bench/cpu.sh bench/lib.sh bench/domains.sh bench/route.sh

.PHONY: bench
bench: bench/herald_blast$(EXEEXT) bench/herald_plans$(EXEEXT) bench/herald_enqueue$(EXEEXT)
