# libherald: the core.  Public headers in core/herald/, internal ones beside the sources.
# Every source of the core is listed here and only here.  They are compiled
# once, into a convenience library; the installed libherald.so is that library
# with only the herald_* symbols exported (a plugin's own registry_count() must
# never be replaced by the core's).  Unit tests that need internals link
# $(herald_internal_ldadd) instead of the shared library.
noinst_LTLIBRARIES += core/libherald_core.la
core_libherald_core_la_SOURCES = \
	core/status.c \
	core/arena.c core/arena.h \
	core/options.c core/options.h \
	core/config.c core/config.h \
	core/config_source.c core/config_source.h \
	core/context.c core/context.h \
	core/registry.c core/registry.h core/module_abi.c core/module_abi.h \
	core/loop.c \
	core/trace.c core/trace_sink.h \
	core/message.c core/wire_count.c core/wire_count.h \
	core/utf8.c core/utf8.h core/text.c core/text.h \
	core/delivery.c core/delivery.h \
	core/outcome.c core/outcome.h \
	core/env.c core/env.h \
	core/transport.c \
	core/route.c core/route_mx.c core/mx_order.c core/mx_order.h \
	core/host.c \
	core/submit.c \
	core/dns.c core/dns_cache.c core/dns.h \
	core/mime.c core/mime_encode.c core/mime_encode.h \
	core/random.c core/random.h
# "herald probe" (owner: probe).
core_libherald_core_la_SOURCES += core/probe.c
# The resolver's own files (owner: dns), on their own lines to keep merges apart.
core_libherald_core_la_SOURCES += core/dns_wire.c core/dns_wire.h \
	core/plan_share.c core/plan_share.h core/route_batch.c \
	core/plan_pack.c core/route_plan.h core/hash_table.c core/hash_table.h
# Batched UDP under c-ares (owner: domains).
core_libherald_core_la_SOURCES += core/dns_udp.c core/dns_udp.h
# The durable queue (owner: queue).
core_libherald_core_la_SOURCES += core/queue.c core/queue_store.h core/queue_run.c \
	core/queue_admin.c core/queue_dsn.c core/queue_dsn.h \
	core/queue_hold.c core/queue_hold.h
# No mbed TLS: TLS lives in the smtp transport, which links it itself.
core_libherald_core_la_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS) $(CARES_CFLAGS)
core_libherald_core_la_LIBADD = $(LIBCONFIG_LIBS) $(CARES_LIBS) $(DL_LIBS)
herald_internal_ldadd = core/libherald_core.la

lib_LTLIBRARIES += core/libherald.la
core_libherald_la_SOURCES =
core_libherald_la_LIBADD = core/libherald_core.la
# current 1: herald_dns_query_mx/resolve changed (they take a trace scope).
# current 2 (age 1): herald_route_mx, herald/host.h, herald/queue.h, herald/mime.h added.
# current 3 (age 2): herald_env_note, herald_device_note_count/_at added.
# current 4 (age 3): herald/probe.h (herald_probe and its accessors, the probe
# job setters, herald_transport_probe) added.
# current 5 (age 4): herald_sendmail_device, herald_queue_configured,
# herald_mime_address_field added.
# current 6 (age 5): herald_message_body_wire_size added (ABI 2.4); struct
# herald_job_result grows rcpts (struct herald_rcpt_word, ABI 2.4), its parallel
# arrays stay, deprecated; herald/text.h (herald_text_printable) added.
# current 7 (age 6): herald_probe_expired, herald_probe_remaining_ms,
# herald_probe_job_expired added; struct herald_probe_options grows
# deadline_ms and struct herald_probe_result expired (ABI 2.5);
# herald_text_utf8_len added (ABI 2.5).
# current 8 (age 7): herald_job_hop_failed, herald_delivery_hop, herald_outcome_hop_*,
# herald_message_add_try_last, herald_message_try_last
# added (ABI 2.6); struct herald_job_result grows hop_failed.
# The libtool version script keeps every other symbol local (tests/integration/lib_symbols.sh).
core_libherald_la_LDFLAGS = $(AM_LDFLAGS) -version-info 8:0:7 -no-undefined \
	-export-symbols-regex '^herald_'

heraldincludedir = $(includedir)/herald
heraldinclude_HEADERS = \
	core/herald/herald.h core/herald/status.h core/herald/option.h \
	core/herald/module.h core/herald/loop.h core/herald/trace.h \
	core/herald/message.h core/herald/outcome.h core/herald/device.h \
	core/herald/dns.h core/herald/route.h core/herald/transport.h \
	core/herald/route_batch.h \
	core/herald/mime.h core/herald/host.h core/herald/timeouts.h \
	core/herald/queue.h core/herald/probe.h core/herald/text.h
