# SMTP protocol core (owner: smtp): a convenience library that the SMTP
# transport module and the unit tests link.  Needs libherald (loop, trace).
noinst_LTLIBRARIES += devices/email/libsmtp.la
devices_email_libsmtp_la_SOURCES = \
	devices/email/smtp_reply.c devices/email/smtp_reply.h \
	devices/email/smtp_body.c devices/email/smtp_body.h \
	devices/email/smtp_ehlo.c devices/email/smtp_ehlo.h \
	devices/email/smtp_conn.c devices/email/smtp_conn.h \
	devices/email/smtp_session.c devices/email/smtp_session.h \
	devices/email/smtp_params.c devices/email/smtp_params.h \
	devices/email/mime_7bit.c devices/email/mime_7bit.h
# TLS and AUTH (owner: tls): mbed TLS seam and SASL encoders.
devices_email_libsmtp_la_SOURCES += \
	devices/email/smtp_tls.c devices/email/smtp_tls.h \
	devices/email/smtp_auth.c devices/email/smtp_auth.h
devices_email_libsmtp_la_CFLAGS = $(AM_CFLAGS) $(MBEDTLS_CFLAGS)
devices_email_libsmtp_la_LIBADD = $(MBEDTLS_LIBS)
# The session pool's destinations (owner: concurrency): slots, the learned
# per-host concurrency, waiting jobs; descriptors against max_sessions.
devices_email_libsmtp_la_SOURCES += \
	devices/email/smtp_dest.c devices/email/smtp_dest.h \
	devices/email/smtp_fdlimit.c devices/email/smtp_fdlimit.h \
	devices/email/smtp_pool.c devices/email/smtp_pool.h
# "herald probe" (owner: probe): one short session per hop address, no DATA.
devices_email_libsmtp_la_SOURCES += devices/email/smtp_probe.c devices/email/smtp_probe.h
