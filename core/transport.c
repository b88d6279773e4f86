/*
 * transport.c - transport jobs: one message, one hop address, one transport
 *
 * The job is the seam between a device that walks hops (email) and a
 * transport module that speaks to one of them (smtp).  It holds copies of
 * everything, so neither side's lifetime leaks into the other.
 */
#include <stdlib.h>
#include <string.h>

#include <herald/loop.h>
#include <herald/module.h>
#include <herald/trace.h>
#include <herald/transport.h>
#include "env.h"
#include "module_abi.h"
#include "text.h"

#define JOB_TEXT_MAX 1000

struct herald_transport_job {
    const struct herald_module_ref *transport;
    struct herald_env *env;
    const struct herald_trace *trace;
    const struct herald_message *msg;
    size_t count;
    char **rcpt;
    char *host;
    uint16_t port;
    char *origin;
    struct herald_address address;
    herald_job_fn done;
    void *arg;
    bool finished;
    /* results */
    bool session_failed;
    bool hop_failed;                 /* herald_job_hop_failed(): before any transaction */
    bool permanent;
    char *reply;
    char *dsn;
    char *peer;
    struct herald_rcpt_word *word;   /* per recipient: the one record */
    char **rcpt_reply;               /* owned texts behind word[i].reply, .dsn */
    char **rcpt_dsn;
    /* The deprecated parallel arrays (ABI <= 2.3), copied from word[] when
     * the job ends; removed at the next major. */
    bool *decided;
    enum herald_result *result;
    bool *possibly;
};

/* replace_text - swap *slot for a printable copy of s; false on ENOMEM */
static bool
replace_text(char **slot, const char *s)
{
    char *d = text_printable_dup(s, JOB_TEXT_MAX, TEXT_LINE);

    if (d == NULL)
        return false;
    free(*slot);
    *slot = d;
    return true;
}

static void
job_free(struct herald_transport_job *job)
{
    size_t i;

    if (job == NULL)
        return;
    for (i = 0; i < job->count; i++) {
        if (job->rcpt)
            free(job->rcpt[i]);
        if (job->rcpt_reply)
            free(job->rcpt_reply[i]);
        if (job->rcpt_dsn)
            free(job->rcpt_dsn[i]);
    }
    free(job->rcpt);
    free(job->rcpt_reply);
    free(job->rcpt_dsn);
    free(job->word);
    free(job->decided);
    free(job->result);
    free(job->possibly);
    free(job->host);
    free(job->origin);
    free(job->reply);
    free(job->dsn);
    free(job->peer);
    free(job);
}

const struct herald_message *
herald_job_message(const struct herald_transport_job *job) { return job->msg; }
size_t
herald_job_recipient_count(const struct herald_transport_job *job) { return job->count; }
const char *
herald_job_recipient_address(const struct herald_transport_job *job, size_t i)
{
    return i < job->count ? job->rcpt[i] : NULL;
}
const char *
herald_job_host(const struct herald_transport_job *job) { return job->host; }
uint16_t
herald_job_port(const struct herald_transport_job *job) { return job->port; }
const struct herald_address *
herald_job_address(const struct herald_transport_job *job) { return &job->address; }
const char *
herald_job_origin(const struct herald_transport_job *job) { return job->origin; }
const struct herald_trace *
herald_job_trace(const struct herald_transport_job *job) { return job->trace; }
struct herald_env *
herald_job_env(const struct herald_transport_job *job) { return job->env; }

/* herald_job_recipient - the peer's final word on one recipient */
herald_status
herald_job_recipient(struct herald_transport_job *job, size_t i, enum herald_result result,
                     const char *reply, const char *dsn, bool possibly_delivered)
{
    char *r, *d;

    if (job == NULL || job->finished || i >= job->count)
        return HERALD_E_INVAL;
    r = text_printable_dup(reply, JOB_TEXT_MAX, TEXT_LINE);
    d = text_printable_dup(dsn, JOB_TEXT_MAX, TEXT_LINE);
    if (r == NULL || d == NULL) {
        /* All or nothing: an earlier word stays whole, and word[i] never
         * points at a text freed here. */
        free(r);
        free(d);
        return HERALD_E_NOMEM;
    }
    free(job->rcpt_reply[i]);
    free(job->rcpt_dsn[i]);
    job->rcpt_reply[i] = r;
    job->rcpt_dsn[i] = d;
    job->word[i] = (struct herald_rcpt_word){
        .decided = true, .result = result, .reply = job->rcpt_reply[i],
        .dsn = job->rcpt_dsn[i], .possibly_delivered = possibly_delivered,
    };
    return HERALD_OK;
}

/* herald_job_session_failed - the hop did not take the message */
void
herald_job_session_failed(struct herald_transport_job *job, bool permanent, const char *reply,
                          const char *dsn)
{
    if (job == NULL || job->finished)
        return;
    job->session_failed = true;
    job->hop_failed = false;         /* the last word on the session stands */
    job->permanent = permanent;
    /* On ENOMEM the previous (or empty) text stays: the failure itself is kept. */
    (void)replace_text(&job->reply, reply);
    (void)replace_text(&job->dsn, dsn);
}

/* herald_job_hop_failed - the hop itself failed, before any transaction */
void
herald_job_hop_failed(struct herald_transport_job *job, bool permanent, const char *reply,
                      const char *dsn)
{
    if (job == NULL || job->finished)
        return;
    herald_job_session_failed(job, permanent, reply, dsn);
    job->hop_failed = true;
}

void
herald_job_set_peer(struct herald_transport_job *job, const char *peer)
{
    if (job != NULL && !job->finished)
        (void)replace_text(&job->peer, peer);
}

/* job_finish - hand the results to the device, then free the job */
static void
job_finish(void *arg)
{
    struct herald_transport_job *job = arg;
    struct herald_job_result res;
    size_t i;

    for (i = 0; i < job->count; i++) {
        job->decided[i] = job->word[i].decided;
        job->result[i] = job->word[i].result;
        job->possibly[i] = job->word[i].possibly_delivered;
    }
    res.session_failed = job->session_failed;
    res.permanent = job->permanent;
    res.reply = job->reply ? job->reply : "";
    res.dsn = job->dsn ? job->dsn : "";
    res.peer = job->peer ? job->peer : "";
    res.count = job->count;
    res.decided = job->decided;
    res.result = job->result;
    res.rcpt_reply = (const char *const *)job->rcpt_reply;
    res.rcpt_dsn = (const char *const *)job->rcpt_dsn;
    res.possibly_delivered = job->possibly;
    res.rcpts = job->word;
    res.hop_failed = job->session_failed && job->hop_failed;
    job->done(job->arg, &res);
    job_free(job);
}

/* herald_job_done - the transport is finished; results go out from the loop */
void
herald_job_done(struct herald_transport_job *job)
{
    if (job == NULL || job->finished)
        return;
    job->finished = true;
    if (herald_loop_defer(job->env->loop, job_finish, job) != HERALD_OK)
        job_finish(job);   /* no memory for a deferred call: finish now rather than never */
}

/* herald_transport_open - the transport's per-device state */
herald_status
herald_transport_open(const struct herald_module_ref *transport, struct herald_env *env,
                      void **state_out, struct herald_diag *diag)
{
    const struct herald_transport_ops *ops;

    if (transport == NULL || transport->module == NULL || state_out == NULL)
        return herald_diag_set(diag, HERALD_E_INVAL, "", "no transport module");
    /* The loader proved start() is there (module_ops_check); open and
     * close are optional, read only when the module's table holds them. */
    ops = transport->module->ops;
    *state_out = NULL;
    if (!OPS_HAS(struct herald_transport_ops, ops, open) || ops->open == NULL)
        return HERALD_OK;
    return ops->open(transport->options, env, state_out, diag);
}

void
herald_transport_close(const struct herald_module_ref *transport, void *state)
{
    const struct herald_transport_ops *ops;

    if (transport == NULL || transport->module == NULL)
        return;
    ops = transport->module->ops;
    if (ops != NULL && OPS_HAS(struct herald_transport_ops, ops, close) && ops->close != NULL)
        ops->close(state);
}

/* herald_transport_run - start one job on one hop address */
herald_status
herald_transport_run(const struct herald_module_ref *transport, void *state,
                     struct herald_env *env, const struct herald_trace *trace,
                     const struct herald_message *msg, const char *const *recipients,
                     size_t count, const char *host, uint16_t port, const char *origin,
                     const struct herald_address *address, herald_job_fn done, void *arg)
{
    const struct herald_transport_ops *ops;
    struct herald_transport_job *job;
    herald_status st;
    size_t i;

    if (transport == NULL || transport->module == NULL || env == NULL || msg == NULL
        || recipients == NULL || count == 0 || host == NULL || address == NULL || done == NULL)
        return HERALD_E_INVAL;
    ops = transport->module->ops;
    job = calloc(1, sizeof *job);
    if (job == NULL)
        return HERALD_E_NOMEM;
    job->transport = transport;
    job->env = env;
    job->trace = trace;
    job->msg = msg;
    job->count = count;
    job->port = port;
    job->address = *address;
    job->done = done;
    job->arg = arg;
    job->rcpt = calloc(count, sizeof *job->rcpt);
    job->rcpt_reply = calloc(count, sizeof *job->rcpt_reply);
    job->rcpt_dsn = calloc(count, sizeof *job->rcpt_dsn);
    job->word = calloc(count, sizeof *job->word);
    job->decided = calloc(count, sizeof *job->decided);
    job->result = calloc(count, sizeof *job->result);
    job->possibly = calloc(count, sizeof *job->possibly);
    job->host = strdup(host);
    job->origin = strdup(origin ? origin : "");
    if (!job->rcpt || !job->rcpt_reply || !job->rcpt_dsn || !job->word || !job->decided
        || !job->result || !job->possibly || !job->host || !job->origin) {
        job_free(job);
        return HERALD_E_NOMEM;
    }
    for (i = 0; i < count; i++) {
        job->rcpt[i] = strdup(recipients[i]);
        if (job->rcpt[i] == NULL) {
            job_free(job);
            return HERALD_E_NOMEM;
        }
        job->word[i] = (struct herald_rcpt_word){ .result = HERALD_RESULT_DEFERRED,
                                                  .reply = "", .dsn = "" };
    }
    st = ops->start(state, job);
    if (st != HERALD_OK) {
        herald_job_session_failed(job, false, herald_strerror(st), "4.3.0");
        herald_job_done(job);
    }
    return HERALD_OK;
}
