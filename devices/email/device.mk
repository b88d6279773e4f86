# The email device: pairs a route strategy module with a transport module.
pkglib_LTLIBRARIES += devices/device-email.la
devices_device_email_la_SOURCES = devices/email/device_email.c
devices_device_email_la_LDFLAGS = $(herald_module_ldflags)
devices_device_email_la_LIBADD = core/libherald.la
