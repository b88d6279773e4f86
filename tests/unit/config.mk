# Unit tests of the configuration layer (owner: cfg): option tables,
# device files, the library context.
check_PROGRAMS += tests/unit/test_options tests/unit/test_config
TESTS += tests/unit/test_options tests/unit/test_config

tests_unit_test_options_SOURCES = tests/unit/test_options.c
tests_unit_test_options_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_options_LDADD = $(herald_internal_ldadd) $(LIBCONFIG_LIBS) $(CUNIT_LIBS)

tests_unit_test_config_SOURCES = tests/unit/test_config.c
tests_unit_test_config_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_config_LDADD = $(herald_internal_ldadd) $(LIBCONFIG_LIBS) $(CUNIT_LIBS)

EXTRA_DIST += \
	tests/data/config/good.conf \
	tests/data/config/unknown-option.conf \
	tests/data/config/wrong-type.conf \
	tests/data/config/missing-required.conf \
	tests/data/config/out-of-range.conf \
	tests/data/config/unknown-driver.conf \
	tests/data/config/duplicate-device.conf \
	tests/data/config/syntax-error.conf \
	tests/data/config/include-main.conf \
	tests/data/config/include-part.inc \
	tests/data/config/unknown-top.conf \
	tests/data/config/sendmail-device.conf \
	tests/data/config/sendmail-good.conf
