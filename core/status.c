/*
 * status.c - herald_strerror, diagnostics, module kind names
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <herald/status.h>
#include <herald/module.h>

#include "text.h"

static const char *const status_text[HERALD_E__LAST] = {
    [HERALD_OK] = "success",
    [HERALD_E_NOMEM] = "out of memory",
    [HERALD_E_INVAL] = "invalid argument",
    [HERALD_E_CONFIG] = "configuration error",
    [HERALD_E_MODULE] = "module refused",
    [HERALD_E_IO] = "input/output error",
    [HERALD_E_NOTFOUND] = "not found",
    [HERALD_E_DNS] = "DNS lookup failed",
    [HERALD_E_CONNECT] = "connection failed",
    [HERALD_E_TLS] = "TLS failure",
    [HERALD_E_PROTOCOL] = "protocol error",
    [HERALD_E_TIMEOUT] = "timed out",
    [HERALD_E_REJECTED] = "rejected by peer",
    [HERALD_E_ADDRESS] = "malformed address",
    [HERALD_E_LIMIT] = "limit exceeded",
};

/* herald_strerror - fixed text for a status; never NULL */
const char *
herald_strerror(herald_status status)
{
    if ((unsigned)status >= HERALD_E__LAST || status_text[status] == NULL)
        return "unknown status";
    return status_text[status];
}

/* herald_diag_set - fill a diag, return status for tail calls */
herald_status
herald_diag_set(struct herald_diag *diag, herald_status status, const char *where,
                const char *fmt, ...)
{
    va_list ap;

    if (diag == NULL)
        return status;
    snprintf(diag->where, sizeof diag->where, "%s", where ? where : "");
    va_start(ap, fmt);
    vsnprintf(diag->text, sizeof diag->text, fmt, ap);
    va_end(ap);
    text_printable_inplace(diag->where, TEXT_LINE);
    text_printable_inplace(diag->text, TEXT_LINE);
    return status;
}

/* herald_module_kind_name - "device", "route", "transport", "queue" */
const char *
herald_module_kind_name(unsigned kind)
{
    switch (kind) {
    case HERALD_KIND_DEVICE: return "device";
    case HERALD_KIND_ROUTE: return "route";
    case HERALD_KIND_TRANSPORT: return "transport";
    case HERALD_KIND_QUEUE: return "queue";
    default: return NULL;
    }
}
