# conf: the default device file and the option reference.
# herald.conf goes to $(sysconfdir) only when no herald.conf is there yet (an
# administrator's file is never overwritten), and is removed on uninstall only
# when it is still byte-identical to ours.
EXTRA_DIST += conf/herald.conf conf/options.md
# The queue runner as a systemd service (owner: queue); installed by hand.
EXTRA_DIST += conf/herald-queue.service

install-data-local:
	$(MKDIR_P) '$(DESTDIR)$(sysconfdir)'
	@if test -f '$(DESTDIR)$(sysconfdir)/herald.conf'; then \
	  echo "conf: keeping the existing $(DESTDIR)$(sysconfdir)/herald.conf"; \
	else \
	  echo " $(INSTALL_DATA) conf/herald.conf '$(DESTDIR)$(sysconfdir)/herald.conf'"; \
	  $(INSTALL_DATA) '$(srcdir)/conf/herald.conf' '$(DESTDIR)$(sysconfdir)/herald.conf'; \
	fi

uninstall-local:
	@if test -f '$(DESTDIR)$(sysconfdir)/herald.conf' && \
	    cmp -s '$(srcdir)/conf/herald.conf' '$(DESTDIR)$(sysconfdir)/herald.conf'; then \
	  echo " rm -f '$(DESTDIR)$(sysconfdir)/herald.conf'"; \
	  rm -f '$(DESTDIR)$(sysconfdir)/herald.conf'; \
	elif test -f '$(DESTDIR)$(sysconfdir)/herald.conf'; then \
	  echo "conf: keeping the changed $(DESTDIR)$(sysconfdir)/herald.conf"; \
	fi
