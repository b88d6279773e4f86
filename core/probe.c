/*
 * probe.c - herald_probe(): the device's route plan, then every hop address
 * probed by the device's transport (herald/probe.h)
 *
 * The core owns the probe: the plan, one job per hop address with its
 * recorded steps, and the wait on the loop.  The device and transport only
 * fill jobs in through the setters below, which copy, make printable and
 * bound whatever they are given, so what reaches "herald probe" is never
 * more than one line of HERALD_PROBE_TEXT_MAX octets per text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <herald/herald.h>
#include <herald/loop.h>
#include <herald/message.h>
#include <herald/probe.h>
#include <herald/route.h>
#include <herald/trace.h>
#include <herald/transport.h>
#include "context.h"
#include "module_abi.h"
#include "text.h"
#include "trace_sink.h"

struct herald_probe_job {
    struct herald_probe *probe;
    const struct herald_hop *hop;          /* borrowed from the plan */
    const struct herald_address *address;
    bool done;
    struct herald_probe_result r;          /* its strings are the job's own */
    char *ext[HERALD_PROBE_LIST_MAX];
    char *names[HERALD_PROBE_LIST_MAX];
    bool permanent_error;
};

struct herald_probe {
    struct herald_route_plan *plan;
    struct herald_trace scope;
    char *sender;
    char *recipient;                       /* NULL: no RCPT */
    bool try_auth;
    struct herald_probe_job *jobs;
    size_t njobs;
    size_t *first;                         /* per hop: index of its first job */
    size_t pending;
    uint64_t deadline_ms;                  /* the option; 0: none */
    uint64_t deadline_at;                  /* monotonic ms; 0: none */
    size_t expired;                        /* jobs the deadline cut short */
};

/* How long past its deadline the core still waits for a transport that does
 * not know it (built before ABI 2.5) before giving up on the probe. */
#define PROBE_GRACE_MS 5000

/* keep - a printable, bounded copy of s (NULL stays NULL) into *slot */
static herald_status
keep(const char **slot, const char *s)
{
    char *d;

    if (s == NULL)
        return HERALD_OK;
    d = text_printable_dup(s, HERALD_PROBE_TEXT_MAX, TEXT_LINE);
    if (d == NULL)
        return HERALD_E_NOMEM;
    free((void *)(uintptr_t)*slot);
    *slot = d;
    return HERALD_OK;
}

static void
job_clear(struct herald_probe_job *j)
{
    const char **texts[] = {
        &j->r.connect_error, &j->r.greeting, &j->r.ehlo_reply, &j->r.tls_version,
        &j->r.tls_cipher, &j->r.tls_verify, &j->r.tls_subject, &j->r.tls_issuer,
        &j->r.tls_not_after, &j->r.tls_error, &j->r.auth_mechanisms, &j->r.auth_mechanism,
        &j->r.auth_reply, &j->r.mail_reply, &j->r.rcpt_reply, &j->r.error,
    };
    size_t i;

    for (i = 0; i < sizeof texts / sizeof texts[0]; i++)
        free((void *)(uintptr_t)*texts[i]);
    for (i = 0; i < j->r.extension_count; i++)
        free(j->ext[i]);
    for (i = 0; i < j->r.tls_name_count; i++)
        free(j->names[i]);
}

void
herald_probe_free(struct herald_probe **pp)
{
    struct herald_probe *p = pp != NULL ? *pp : NULL;
    size_t i;

    if (p == NULL)
        return;
    for (i = 0; i < p->njobs; i++)
        job_clear(&p->jobs[i]);
    free(p->jobs);
    free(p->first);
    free(p->sender);
    free(p->recipient);
    herald_plan_free(&p->plan);
    free(p);
    *pp = NULL;
}

/* make_jobs - one job per address of every hop, in plan order */
static herald_status
make_jobs(struct herald_probe *p)
{
    size_t h, a, n = 0, nhops = herald_plan_hop_count(p->plan);

    for (h = 0; h < nhops; h++)
        n += herald_plan_hop(p->plan, h)->address_count;
    p->first = calloc(nhops ? nhops : 1, sizeof *p->first);
    p->jobs = calloc(n ? n : 1, sizeof *p->jobs);
    if (p->first == NULL || p->jobs == NULL)
        return HERALD_E_NOMEM;
    for (h = 0; h < nhops; h++) {
        const struct herald_hop *hop = herald_plan_hop(p->plan, h);

        p->first[h] = p->njobs;
        for (a = 0; a < hop->address_count; a++) {
            struct herald_probe_job *j = &p->jobs[p->njobs++];

            j->probe = p;
            j->hop = hop;
            j->address = &hop->addresses[a];
            j->r.address = hop->addresses[a].text;
            j->r.extensions = (const char *const *)j->ext;
            j->r.tls_names = (const char *const *)j->names;
            j->r.verdict = HERALD_RESULT_DEFERRED;
        }
    }
    p->pending = p->njobs;
    return HERALD_OK;
}

static bool
probe_finished(void *arg)
{
    return ((const struct herald_probe *)arg)->pending == 0;
}

/* device_probe_op - the driver's probe(), NULL when its table has none */
static herald_status (*device_probe_op(const struct herald_device *dev))(void *,
                                                                         struct herald_probe *)
{
    const struct herald_device_ops *ops = dev->ops;

    if (ops == NULL || !OPS_HAS(struct herald_device_ops, ops, probe))
        return NULL;
    return ops->probe;
}

/* herald_probe - plan, then probe every hop address; see herald/probe.h */
herald_status
herald_probe(struct herald_device *dev, const char *domain,
             const struct herald_probe_options *opts, struct herald_probe **probe_out,
             struct herald_diag *diag)
{
    static const struct herald_probe_options none = HERALD_PROBE_OPTIONS_INIT;
    herald_status (*op)(void *, struct herald_probe *);
    struct herald_probe *p;
    enum herald_result result;
    herald_status st;
    size_t i;

    if (dev == NULL || domain == NULL || probe_out == NULL)
        return herald_diag_set(diag, HERALD_E_INVAL, "", "herald_probe: missing argument");
    if (opts == NULL)
        opts = &none;
    if (opts->struct_size < offsetof(struct herald_probe_options, try_auth)
                            + sizeof opts->try_auth)
        return herald_diag_set(diag, HERALD_E_INVAL, dev->conf->name,
                               "herald_probe: options without struct_size");
    if (opts->sender != NULL && *opts->sender != '\0'
        && herald_address_check(opts->sender, 1, diag) != HERALD_OK)
        return HERALD_E_ADDRESS;
    if (opts->recipient != NULL && herald_address_check(opts->recipient, 1, diag) != HERALD_OK)
        return HERALD_E_ADDRESS;
    op = device_probe_op(dev);
    if (op == NULL)
        return herald_diag_set(diag, HERALD_E_NOTFOUND, dev->conf->where,
                               "device \"%s\" cannot probe (its driver has no probe())",
                               dev->conf->name);
    p = calloc(1, sizeof *p);
    if (p == NULL)
        return herald_diag_set(diag, HERALD_E_NOMEM, dev->conf->name, "out of memory");
    p->sender = strdup(opts->sender != NULL ? opts->sender : "");
    p->recipient = opts->recipient != NULL ? strdup(opts->recipient) : NULL;
    p->try_auth = opts->try_auth;
    p->deadline_ms = opts->struct_size >= offsetof(struct herald_probe_options, deadline_ms)
                                          + sizeof opts->deadline_ms
                     ? opts->deadline_ms : HERALD_DEFAULT_PROBE_DEADLINE_MS;
    /* The clock starts now: planning counts against the deadline too. */
    if (p->deadline_ms != 0 && p->deadline_ms <= UINT64_MAX / 4)     /* no overflow below */
        p->deadline_at = herald_loop_now_ms(NULL) + p->deadline_ms;
    if (p->sender == NULL || (opts->recipient != NULL && p->recipient == NULL)) {
        herald_probe_free(&p);
        return herald_diag_set(diag, HERALD_E_NOMEM, dev->conf->name, "out of memory");
    }
    st = herald_route(dev, domain, &p->plan, diag);
    if (st != HERALD_OK) {
        herald_probe_free(&p);
        return st;
    }
    if (make_jobs(p) != HERALD_OK) {
        herald_probe_free(&p);
        return herald_diag_set(diag, HERALD_E_NOMEM, dev->conf->name, "out of memory");
    }
    if (herald_plan_error(p->plan, &result, NULL, NULL) != HERALD_OK || p->njobs == 0) {
        *probe_out = p;            /* the plan's own error is the answer */
        return HERALD_OK;
    }
    trace_scope_init(&p->scope, dev->ctx->sink, NULL);
    herald_trace_log(&p->scope, HERALD_TRACE_INFO, "probe", "probing %zu address(es) of %zu "
                     "hop(s) for %s", p->njobs, herald_plan_hop_count(p->plan), domain);
    st = op(dev->state, p);
    if (st != HERALD_OK) {
        herald_probe_free(&p);
        return herald_diag_set(diag, st, dev->conf->where,
                               "device \"%s\" cannot probe: %s", dev->conf->name,
                               st == HERALD_E_NOTFOUND ? "its transport has no probe()"
                               : herald_strerror(st));
    }
    /* Every step of every session has its own timer (the device's timeouts,
     * cut to the deadline): the loop ends with every job done unless the
     * loop itself fails, or the transport does not know the deadline. */
    st = herald_loop_run(dev->ctx->loop, probe_finished, p,
                         p->deadline_at != 0 ? herald_probe_remaining_ms(p) + PROBE_GRACE_MS : 0);
    if (p->pending != 0) {
        /* p stays allocated on purpose: jobs still point at it. */
        return herald_diag_set(diag, st == HERALD_E_TIMEOUT ? st : HERALD_E_IO, dev->conf->name,
                               "the probe did not finish (%s)", herald_strerror(st));
    }
    for (i = 0; i < p->njobs; i++)
        herald_trace_log(&p->scope, HERALD_TRACE_INFO, "probe", "%s[%s]:%u: %s",
                         p->jobs[i].hop->host, p->jobs[i].r.address,
                         (unsigned)p->jobs[i].hop->port,
                         herald_result_name(p->jobs[i].r.verdict));
    *probe_out = p;
    return HERALD_OK;
}

const struct herald_route_plan *
herald_probe_plan(const struct herald_probe *p)
{
    return p != NULL ? p->plan : NULL;
}

const struct herald_probe_result *
herald_probe_result(const struct herald_probe *p, size_t hop, size_t address)
{
    if (p == NULL || p->first == NULL || hop >= herald_plan_hop_count(p->plan)
        || address >= herald_plan_hop(p->plan, hop)->address_count)
        return NULL;
    return &p->jobs[p->first[hop] + address].r;
}

enum herald_result
herald_probe_verdict(const struct herald_probe *p)
{
    bool permanent = false;
    enum herald_result result;
    size_t i;

    if (p == NULL)
        return HERALD_RESULT_DEFERRED;
    if (herald_plan_error(p->plan, &result, NULL, NULL) != HERALD_OK)
        return result;
    for (i = 0; i < p->njobs; i++) {
        if (p->jobs[i].r.verdict == HERALD_RESULT_DELIVERED)
            return HERALD_RESULT_DELIVERED;
        permanent = permanent || p->jobs[i].r.verdict == HERALD_RESULT_FAILED;
    }
    return permanent ? HERALD_RESULT_FAILED : HERALD_RESULT_DEFERRED;
}

size_t
herald_probe_expired(const struct herald_probe *p)
{
    return p != NULL ? p->expired : 0;
}

uint64_t
herald_probe_remaining_ms(const struct herald_probe *p)
{
    uint64_t now;

    if (p == NULL || p->deadline_at == 0)
        return UINT64_MAX;
    now = herald_loop_now_ms(NULL);
    return now < p->deadline_at ? p->deadline_at - now : 0;
}

size_t
herald_probe_job_count(const struct herald_probe *p)
{
    return p != NULL ? p->njobs : 0;
}

struct herald_probe_job *
herald_probe_job_at(struct herald_probe *p, size_t i)
{
    return p != NULL && i < p->njobs ? &p->jobs[i] : NULL;
}

const char *
herald_probe_sender(const struct herald_probe *p)
{
    return p != NULL ? p->sender : "";
}

const char *
herald_probe_recipient(const struct herald_probe *p)
{
    return p != NULL ? p->recipient : NULL;
}

bool
herald_probe_try_auth(const struct herald_probe *p)
{
    return p != NULL && p->try_auth;
}

const struct herald_trace *
herald_probe_trace(const struct herald_probe *p)
{
    return p != NULL ? &p->scope : NULL;
}

const char *
herald_probe_job_host(const struct herald_probe_job *j)
{
    return j != NULL ? j->hop->host : NULL;
}

uint16_t
herald_probe_job_port(const struct herald_probe_job *j)
{
    return j != NULL ? j->hop->port : 0;
}

const char *
herald_probe_job_origin(const struct herald_probe_job *j)
{
    return j != NULL ? j->hop->origin : NULL;
}

const struct herald_address *
herald_probe_job_address(const struct herald_probe_job *j)
{
    return j != NULL ? j->address : NULL;
}

/* open_job - j can still be written */
static bool
open_job(const struct herald_probe_job *j)
{
    return j != NULL && !j->done;
}

herald_status
herald_probe_job_connect(struct herald_probe_job *j, bool ok, uint64_t ms, const char *error)
{
    if (!open_job(j))
        return HERALD_E_INVAL;
    j->r.connect_done = true;
    j->r.connect_ok = ok;
    j->r.connect_ms = ms;
    return ok ? HERALD_OK : keep(&j->r.connect_error, error != NULL ? error : "");
}

herald_status
herald_probe_job_greeting(struct herald_probe_job *j, int code, const char *reply)
{
    if (!open_job(j))
        return HERALD_E_INVAL;
    j->r.greeting_code = code;
    return keep(&j->r.greeting, reply != NULL ? reply : "");
}

herald_status
herald_probe_job_ehlo(struct herald_probe_job *j, int code, bool helo, const char *reply)
{
    size_t i;

    if (!open_job(j))
        return HERALD_E_INVAL;
    /* A later EHLO (after STARTTLS) replaces the earlier one and its list. */
    for (i = 0; i < j->r.extension_count; i++)
        free(j->ext[i]);
    j->r.extension_count = 0;
    j->r.ehlo_done = true;
    j->r.ehlo_code = code;
    j->r.ehlo_ok = code >= 200 && code < 300;
    j->r.helo = helo;
    return keep(&j->r.ehlo_reply, reply != NULL ? reply : "");
}

/* add_item - one more entry of a bounded list; past the bound it is dropped */
static herald_status
add_item(char **list, size_t *count, const char *s)
{
    const char *copy = NULL;
    herald_status st;

    if (*count >= HERALD_PROBE_LIST_MAX || s == NULL)
        return HERALD_OK;
    st = keep(&copy, s);
    if (st == HERALD_OK)
        list[(*count)++] = (char *)(uintptr_t)copy;
    return st;
}

herald_status
herald_probe_job_extension(struct herald_probe_job *j, const char *keyword)
{
    if (!open_job(j))
        return HERALD_E_INVAL;
    return add_item(j->ext, &j->r.extension_count, keyword);
}

herald_status
herald_probe_job_tls(struct herald_probe_job *j, const struct herald_probe_tls *t)
{
    herald_status st = HERALD_OK;

    if (!open_job(j) || t == NULL
        || t->struct_size < offsetof(struct herald_probe_tls, error) + sizeof t->error)
        return HERALD_E_INVAL;
    j->r.tls_done = true;
    j->r.tls_ok = t->ok;
    j->r.tls_verified = t->verified;
    if (keep(&j->r.tls_version, t->version) != HERALD_OK
        || keep(&j->r.tls_cipher, t->cipher) != HERALD_OK
        || keep(&j->r.tls_subject, t->subject) != HERALD_OK
        || keep(&j->r.tls_issuer, t->issuer) != HERALD_OK
        || keep(&j->r.tls_not_after, t->not_after) != HERALD_OK
        || keep(&j->r.tls_verify, t->verify) != HERALD_OK
        || keep(&j->r.tls_error, t->error) != HERALD_OK)
        st = HERALD_E_NOMEM;
    return st;
}

herald_status
herald_probe_job_tls_name(struct herald_probe_job *j, const char *name)
{
    if (!open_job(j))
        return HERALD_E_INVAL;
    return add_item(j->names, &j->r.tls_name_count, name);
}

herald_status
herald_probe_job_auth(struct herald_probe_job *j, const char *mechanisms, const char *mechanism,
                      bool ok, const char *reply)
{
    if (!open_job(j))
        return HERALD_E_INVAL;
    j->r.auth_done = true;
    j->r.auth_tried = mechanism != NULL;
    j->r.auth_ok = mechanism != NULL && ok;
    if (keep(&j->r.auth_mechanisms, mechanisms != NULL ? mechanisms : "") != HERALD_OK
        || keep(&j->r.auth_mechanism, mechanism) != HERALD_OK
        || keep(&j->r.auth_reply, reply) != HERALD_OK)
        return HERALD_E_NOMEM;
    return HERALD_OK;
}

herald_status
herald_probe_job_mail(struct herald_probe_job *j, int code, const char *reply)
{
    if (!open_job(j))
        return HERALD_E_INVAL;
    j->r.mail_code = code;
    return keep(&j->r.mail_reply, reply != NULL ? reply : "");
}

herald_status
herald_probe_job_rcpt(struct herald_probe_job *j, int code, const char *reply)
{
    if (!open_job(j))
        return HERALD_E_INVAL;
    j->r.rcpt_code = code;
    return keep(&j->r.rcpt_reply, reply != NULL ? reply : "");
}

herald_status
herald_probe_job_error(struct herald_probe_job *j, bool permanent, const char *why)
{
    if (!open_job(j))
        return HERALD_E_INVAL;
    j->permanent_error = j->permanent_error || permanent;
    return keep(&j->r.error, why != NULL ? why : "");
}

herald_status
herald_probe_job_expired(struct herald_probe_job *j, const char *doing)
{
    uint64_t ms;
    char why[200];

    if (!open_job(j))
        return HERALD_E_INVAL;
    if (!j->r.expired) {
        j->r.expired = true;
        j->probe->expired++;
    }
    ms = j->probe->deadline_ms;
    snprintf(why, sizeof why, "the probe's deadline (%llu %s) passed while %.120s",
             (unsigned long long)(ms % 1000 == 0 ? ms / 1000 : ms), ms % 1000 == 0 ? "s" : "ms",
             doing != NULL ? doing : "probing");
    return keep(&j->r.error, why);
}

/* class_result - a reply code as a delivery reads it */
static enum herald_result
class_result(int code)
{
    return code / 100 == 2 ? HERALD_RESULT_DELIVERED
           : code / 100 == 5 ? HERALD_RESULT_FAILED : HERALD_RESULT_DEFERRED;
}

/* verdict - what the recorded steps say, the way a delivery reads them: the
 * word on the recipient (without one, on the sender) decides; before it, a
 * 5xx session refusal is permanent and anything else temporary */
static enum herald_result
verdict(const struct herald_probe_job *j)
{
    const struct herald_probe_result *r = &j->r;

    if (r->rcpt_code != 0)
        return class_result(r->rcpt_code);
    if (r->mail_code != 0 && (j->probe->recipient == NULL || r->mail_code / 100 != 2))
        return class_result(r->mail_code);
    if (j->permanent_error || r->greeting_code / 100 == 5 || r->ehlo_code / 100 == 5)
        return HERALD_RESULT_FAILED;
    return HERALD_RESULT_DEFERRED;
}

void
herald_probe_job_done(struct herald_probe_job *j)
{
    if (!open_job(j))
        return;
    j->done = true;
    j->r.verdict = verdict(j);
    j->probe->pending--;
}

/* herald_transport_probe - the transport's probe(), when its table has one */
herald_status
herald_transport_probe(const struct herald_module_ref *transport, void *state,
                       struct herald_probe *probe)
{
    const struct herald_transport_ops *ops;

    if (transport == NULL || transport->module == NULL || probe == NULL)
        return HERALD_E_INVAL;
    ops = transport->module->ops;
    if (ops == NULL || !OPS_HAS(struct herald_transport_ops, ops, probe) || ops->probe == NULL)
        return HERALD_E_NOTFOUND;
    return ops->probe(state, probe);
}
