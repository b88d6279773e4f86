# The 8bit -> 7bit MIME downgrade (devices/email/mime_7bit.c, in libsmtp.la).
check_PROGRAMS += tests/unit/test_mime_7bit
TESTS += tests/unit/test_mime_7bit
tests_unit_test_mime_7bit_SOURCES = tests/unit/test_mime_7bit.c
tests_unit_test_mime_7bit_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS) -I$(top_srcdir)/devices/email
tests_unit_test_mime_7bit_LDADD = devices/email/libsmtp.la core/libherald.la $(CUNIT_LIBS)
