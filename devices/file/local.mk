# The file device: writes each message into a folder (owner: msg).
pkglib_LTLIBRARIES += devices/device-file.la
devices_device_file_la_SOURCES = \
	devices/file/device_file.c \
	devices/file/file_name.c devices/file/file_name.h \
	devices/file/file_write.c devices/file/file_write.h
devices_device_file_la_LDFLAGS = $(herald_module_ldflags)
devices_device_file_la_LIBADD = core/libherald.la
