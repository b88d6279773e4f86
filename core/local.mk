# libherald: the core.  Public headers in core/herald/, internal ones beside the sources.
lib_LTLIBRARIES += core/libherald.la
core_libherald_la_SOURCES = \
	core/status.c \
	core/arena.c core/arena.h \
	core/options.c core/options.h \
	core/config.c core/config.h \
	core/context.c core/context.h \
	core/registry.c core/registry.h \
	core/loop.c \
	core/trace.c core/trace_sink.h \
	core/message.c core/utf8.c core/utf8.h \
	core/delivery.c core/delivery.h \
	core/outcome.c core/outcome.h \
	core/env.c core/env.h \
	core/transport.c \
	core/route.c \
	core/submit.c
core_libherald_la_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS) $(CARES_CFLAGS) $(MBEDTLS_CFLAGS)
core_libherald_la_LIBADD = $(LIBCONFIG_LIBS) $(CARES_LIBS) $(MBEDTLS_LIBS) $(DL_LIBS)
# current 1: herald_dns_query_mx/resolve changed (they take a trace scope).
core_libherald_la_LDFLAGS = $(AM_LDFLAGS) -version-info 1:0:0 -no-undefined

heraldincludedir = $(includedir)/herald
heraldinclude_HEADERS = \
	core/herald/herald.h core/herald/status.h core/herald/option.h \
	core/herald/module.h core/herald/loop.h core/herald/trace.h \
	core/herald/message.h core/herald/outcome.h core/herald/device.h \
	core/herald/dns.h core/herald/route.h core/herald/transport.h
