# Route strategies (owner: route): each a module $(pkglibdir)/route-NAME.so,
# loaded through the same loader as any third-party strategy.  The shared
# planning code (mx_walk, mx_order, smarthost_list) is compiled into each
# module that needs it: it is not part of libherald's ABI.
plugin_walk_sources = plugins/mx_walk.c plugins/mx_walk.h \
	plugins/mx_order.c plugins/mx_order.h \
	plugins/smarthost_list.c plugins/smarthost_list.h

pkglib_LTLIBRARIES += plugins/route-mx.la plugins/route-smarthost.la \
	plugins/route-mx-then-smarthost.la plugins/route-static.la

plugins_route_mx_la_SOURCES = plugins/route_mx.c $(plugin_walk_sources)
plugins_route_mx_la_LDFLAGS = $(herald_module_ldflags)
plugins_route_mx_la_LIBADD = core/libherald.la

plugins_route_smarthost_la_SOURCES = plugins/route_smarthost.c $(plugin_walk_sources)
plugins_route_smarthost_la_LDFLAGS = $(herald_module_ldflags)
plugins_route_smarthost_la_LIBADD = core/libherald.la

plugins_route_mx_then_smarthost_la_SOURCES = plugins/route_mx_then_smarthost.c \
	$(plugin_walk_sources)
plugins_route_mx_then_smarthost_la_LDFLAGS = $(herald_module_ldflags)
plugins_route_mx_then_smarthost_la_LIBADD = core/libherald.la

# Queue stores (owner: queue): $(pkglibdir)/queue-NAME.so, module kind "queue".
pkglib_LTLIBRARIES += plugins/queue-spool.la
plugins_queue_spool_la_SOURCES = plugins/queue_spool.c plugins/spool_file.c \
	plugins/spool_file.h
plugins_queue_spool_la_LDFLAGS = $(herald_module_ldflags)
plugins_queue_spool_la_LIBADD = core/libherald.la

# The example strategy, the plugin author's template (docs/plugins.md).
plugins_route_static_la_SOURCES = plugins/example/route_static.c $(plugin_walk_sources)
plugins_route_static_la_LDFLAGS = $(herald_module_ldflags)
plugins_route_static_la_LIBADD = core/libherald.la

EXTRA_DIST += plugins/example/Makefile docs/plugins.md

# installcheck-plugins - build the example out of tree with only the
# INSTALLED headers and herald.pc, load it with the installed herald, use it.
installcheck-local: installcheck-plugins
installcheck-plugins:
	PKG_CONFIG='$(PKG_CONFIG)' MAKE='$(MAKE)' \
	  $(SHELL) '$(srcdir)/tests/integration/plugin_out_of_tree.sh' '$(abs_top_srcdir)' \
	  '$(DESTDIR)$(libdir)/pkgconfig' '$(DESTDIR)$(prefix)' '$(DESTDIR)$(includedir)' \
	  '$(DESTDIR)$(libdir)' '$(DESTDIR)$(pkglibdir)' '$(DESTDIR)$(bindir)'
	HERALD_SRC_DIR='$(abs_top_srcdir)' HERALD_BIN='$(DESTDIR)$(bindir)/herald' NM='$(NM)' \
	  $(SHELL) '$(srcdir)/tests/integration/lib_symbols.sh' '$(DESTDIR)$(libdir)/libherald.so'
EXTRA_DIST += tests/integration/plugin_out_of_tree.sh

.PHONY: installcheck-plugins
