# The email device: pairs a route strategy module with a transport module.
pkglib_LTLIBRARIES += devices/device-email.la
devices_device_email_la_SOURCES = devices/email/device_email.c
devices_device_email_la_LDFLAGS = $(herald_module_ldflags)
devices_device_email_la_LIBADD = core/libherald.la

# The smtp transport: the SMTP protocol core (devices/email/local.mk) as a module.
pkglib_LTLIBRARIES += devices/transport-smtp.la
devices_transport_smtp_la_SOURCES = devices/email/transport_smtp.c
devices_transport_smtp_la_LDFLAGS = $(herald_module_ldflags)
devices_transport_smtp_la_LIBADD = devices/email/libsmtp.la core/libherald.la
# STARTTLS and AUTH (owner: tls): the module calls mbed TLS directly too.
devices_transport_smtp_la_CFLAGS = $(AM_CFLAGS) $(MBEDTLS_CFLAGS)
devices_transport_smtp_la_LIBADD += $(MBEDTLS_LIBS)
