# SMTP protocol core (owner: smtp): a convenience library that the SMTP
# transport module and the unit tests link.  Needs libherald (loop, trace).
noinst_LTLIBRARIES += devices/email/libsmtp.la
devices_email_libsmtp_la_SOURCES = \
	devices/email/smtp_reply.c devices/email/smtp_reply.h \
	devices/email/smtp_body.c devices/email/smtp_body.h \
	devices/email/smtp_ehlo.c devices/email/smtp_ehlo.h \
	devices/email/smtp_conn.c devices/email/smtp_conn.h \
	devices/email/smtp_session.c devices/email/smtp_session.h
