# Man pages (owner: operator), installed by "make install".  herald.conf(5)
# is made at build time from conf/options.md by docs/man/options2man.awk, so
# the option reference and the page can never disagree;
# tests/integration/man_pages.sh renders every page with warnings on.
dist_man_MANS = docs/man/herald.1 docs/man/libherald.3 docs/man/herald-modules.7 \
	docs/man/herald-sendmail.8
nodist_man_MANS = docs/man/herald.conf.5
EXTRA_DIST += docs/man/options2man.awk
CLEANFILES += docs/man/herald.conf.5

docs/man/herald.conf.5: $(srcdir)/conf/options.md $(srcdir)/docs/man/options2man.awk
	$(MKDIR_P) docs/man
	LC_ALL=C $(AWK) -f '$(srcdir)/docs/man/options2man.awk' '$(srcdir)/conf/options.md' >$@.tmp
	mv -f $@.tmp $@
