# Route strategies (owner: plugin-kit): each a module $(pkglibdir)/route-NAME.so,
# loaded through the same loader as any third-party strategy.  The MX walk
# they share is libherald's public herald_route_mx() (herald/route.h);
# mx_options.c only maps their common options onto it.
plugin_mx_options = plugins/mx_options.c plugins/mx_options.h

pkglib_LTLIBRARIES += plugins/route-mx.la plugins/route-smarthost.la \
	plugins/route-mx-then-smarthost.la plugins/route-split.la

plugins_route_mx_la_SOURCES = plugins/route_mx.c $(plugin_mx_options)
plugins_route_mx_la_LDFLAGS = $(herald_module_ldflags)
plugins_route_mx_la_LIBADD = core/libherald.la

plugins_route_smarthost_la_SOURCES = plugins/route_smarthost.c $(plugin_mx_options)
plugins_route_smarthost_la_LDFLAGS = $(herald_module_ldflags)
plugins_route_smarthost_la_LIBADD = core/libherald.la

plugins_route_mx_then_smarthost_la_SOURCES = plugins/route_mx_then_smarthost.c \
	$(plugin_mx_options)
plugins_route_mx_then_smarthost_la_LDFLAGS = $(herald_module_ldflags)
plugins_route_mx_then_smarthost_la_LIBADD = core/libherald.la

# Queue stores (owner: queue): $(pkglibdir)/queue-NAME.so, module kind "queue".
pkglib_LTLIBRARIES += plugins/queue-spool.la
plugins_queue_spool_la_SOURCES = plugins/queue_spool.c plugins/spool_file.c \
	plugins/spool_seg.c plugins/spool_seg.h plugins/spool_write.c plugins/spool_write.h \
	plugins/spool_file.h plugins/spool_reap.c plugins/spool_reap.h
plugins_queue_spool_la_LDFLAGS = $(herald_module_ldflags)
plugins_queue_spool_la_LIBADD = core/libherald.la -lpthread

# The example strategy, the plugin author's template (docs/plugins.md): one
# file, nothing but the public headers.  Built and installed like the others;
# "make installcheck" also builds a copy of the folder out of tree.
plugins_route_split_la_SOURCES = plugins/example/route_split.c
plugins_route_split_la_LDFLAGS = $(herald_module_ldflags)
plugins_route_split_la_LIBADD = core/libherald.la

EXTRA_DIST += plugins/example/Makefile docs/plugins.md docs/MODULE-ABI.md

# installcheck: copy the example folder anywhere, build it with only the
# INSTALLED headers and herald.pc, load it with the installed herald, route
# with it; and list the installed library's exported symbols.
installcheck-local: installcheck-plugins
installcheck-plugins:
	HERALD_SRC_DIR='$(abs_top_srcdir)' PKG_CONFIG='$(PKG_CONFIG)' MAKE='$(MAKE)' \
	  $(SHELL) '$(srcdir)/tests/integration/plugin_out_of_tree.sh' '$(DESTDIR)' \
	  '$(DESTDIR)$(libdir)/pkgconfig' '$(DESTDIR)$(bindir)' '$(DESTDIR)$(pkglibdir)' \
	  '$(DESTDIR)$(libdir)'
	HERALD_SRC_DIR='$(abs_top_srcdir)' HERALD_BIN='$(DESTDIR)$(bindir)/herald' NM='$(NM)' \
	  $(SHELL) '$(srcdir)/tests/integration/lib_symbols.sh' '$(DESTDIR)$(libdir)/libherald.so'

.PHONY: installcheck-plugins
