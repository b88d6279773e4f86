# Device drivers, each a module: $(pkglibdir)/device-NAME.so
include devices/file/local.mk
include devices/email/device.mk
include devices/email/local.mk
