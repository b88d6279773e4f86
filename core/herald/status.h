/*
 * herald/status.h - status codes and diagnostics shared by every Herald API
 *
 * Every function that can fail returns a herald_status.  The status says
 * whether the call worked; what happened to a message is data in its
 * outcome (herald/outcome.h), never a status.
 *
 * A struct herald_diag, where a function takes one, is written only on
 * failure: one printable line, "where" naming the place (FILE:LINE, a module
 * path, a host:port) and "text" saying why.  Neither ever holds a secret.
 */
#ifndef HERALD_STATUS_H
#define HERALD_STATUS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Values are ABI: append only, never renumber, never reuse. */
typedef enum herald_status {
    HERALD_OK = 0,
    HERALD_E_NOMEM = 1,      /* allocation failed */
    HERALD_E_INVAL = 2,      /* caller broke the API contract */
    HERALD_E_CONFIG = 3,     /* bad device file; diag names FILE:LINE */
    HERALD_E_MODULE = 4,     /* module missing, unsafe, or wrong ABI */
    HERALD_E_IO = 5,         /* local file or socket I/O failed */
    HERALD_E_NOTFOUND = 6,   /* no such device, module or entry */
    HERALD_E_DNS = 7,        /* DNS lookup failed */
    HERALD_E_CONNECT = 8,    /* no connection could be made */
    HERALD_E_TLS = 9,        /* TLS set-up, handshake or verification */
    HERALD_E_PROTOCOL = 10,  /* peer broke the protocol grammar */
    HERALD_E_TIMEOUT = 11,   /* a configured timeout expired */
    HERALD_E_REJECTED = 12,  /* peer refused; see the outcome */
    HERALD_E_ADDRESS = 13,   /* malformed mail address */
    HERALD_E_LIMIT = 14,     /* a configured or built-in bound was exceeded */
    HERALD_E__LAST           /* not a value: for tables and tests */
} herald_status;

/* herald_strerror - fixed text for a status; never NULL, also for unknown values */
const char *herald_strerror(herald_status status);

struct herald_diag {
    char where[256];         /* "conf/herald.conf:12", "/usr/lib/herald/x.so" */
    char text[512];          /* printable, one line, never a secret */
};

/*
 * herald_diag_set - fill diag (when not NULL) with where and a formatted text.
 * Control characters are replaced by '?', so a diag is always one line.
 * Returns status, so callers can write "return herald_diag_set(d, HERALD_E_X, ...)".
 */
herald_status herald_diag_set(struct herald_diag *diag, herald_status status,
                              const char *where, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#ifdef __cplusplus
}
#endif
#endif
