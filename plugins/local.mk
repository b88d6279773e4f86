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

# The example strategy, the plugin author's template (docs/plugins.md).
plugins_route_static_la_SOURCES = plugins/example/route_static.c $(plugin_walk_sources)
plugins_route_static_la_LDFLAGS = $(herald_module_ldflags)
plugins_route_static_la_LIBADD = core/libherald.la

EXTRA_DIST += plugins/example/Makefile docs/plugins.md

# installcheck-plugins - build the example out of tree with only the
# INSTALLED headers and herald.pc, and check it exports herald_module.
# The integrator hooks it into installcheck-local (make distcheck runs it).
installcheck-plugins:
	@set -e; tmp=`mktemp -d`; trap 'rm -rf "$$tmp"' EXIT; \
	pcdir='$(DESTDIR)$(libdir)/pkgconfig'; \
	PKG_CONFIG_PATH="$$pcdir" $(PKG_CONFIG) --exists herald; \
	cflags=`PKG_CONFIG_PATH="$$pcdir" $(PKG_CONFIG) --define-variable=prefix='$(DESTDIR)$(prefix)' --cflags herald`; \
	libs=`PKG_CONFIG_PATH="$$pcdir" $(PKG_CONFIG) --define-variable=prefix='$(DESTDIR)$(prefix)' --libs herald`; \
	case "$$cflags" in *'$(DESTDIR)$(includedir)'*) ;; *) cflags="-I$(DESTDIR)$(includedir) $$cflags";; esac; \
	case "$$libs" in *'$(DESTDIR)$(libdir)'*) ;; *) libs="-L$(DESTDIR)$(libdir) $$libs";; esac; \
	cd "$$tmp"; \
	PKG_CONFIG_PATH="$$pcdir" $(MAKE) -f '$(abs_top_srcdir)/plugins/example/Makefile' \
	  HERALD_CFLAGS="$$cflags" HERALD_LIBS="$$libs" CFLAGS='-O2 -Wall -Wextra -Werror'; \
	test -f route-static.so; \
	$(NM) -D --defined-only route-static.so | grep -q ' herald_module$$'; \
	echo "PASS: plugins/example built out of tree against the installed headers and herald.pc"
.PHONY: installcheck-plugins
