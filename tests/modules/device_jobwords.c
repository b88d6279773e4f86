/*
 * device_jobwords.c - test module: a device that hands each message to the
 * transport its options name (one job, one made-up hop) and reports every
 * recipient from the struct herald_job_result it gets back.  Built twice:
 *
 *  - JOBWORDS_OLD: "oldjob", built for ABI 2.3.  It reads the job's result
 *    through its own copy of the 2.3 layout (the parallel arrays, nothing
 *    after them), as a module compiled then does: the core must still fill
 *    those arrays where that module looks for them.
 *  - otherwise "newjob", built for this core's minor: it reads rcpts[] and
 *    checks every word against the deprecated arrays; a difference is
 *    reported as the recipient's failure, so the test sees it.
 */
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include <herald/device.h>
#include <herald/message.h>
#include <herald/module.h>
#include <herald/option.h>
#include <herald/transport.h>

#ifdef JOBWORDS_OLD
#define JOBWORDS_NAME  "oldjob"
#define JOBWORDS_MINOR 3
/* struct herald_job_result as ABI 2.3 declared it, member for member. */
struct job_result_2_3 {
    bool session_failed;
    bool permanent;
    const char *reply;
    const char *dsn;
    const char *peer;
    size_t count;
    const bool *decided;
    const enum herald_result *result;
    const char *const *rcpt_reply;
    const char *const *rcpt_dsn;
    const bool *possibly_delivered;
};
#else
#define JOBWORDS_NAME  "newjob"
#define JOBWORDS_MINOR HERALD_ABI_MINOR
#endif

struct jw_options {
    struct herald_module_ref transport;
};

static const struct herald_option jw_option_table[] = {
    { "transport", HERALD_OPT_MODULE, offsetof(struct jw_options, transport),
      HERALD_OPT_REQUIRED, 0, 0, NULL, NULL, HERALD_KIND_TRANSPORT, "name",
      "the transport that gives the words" },
    HERALD_OPT_END
};

struct jw_device {
    const struct jw_options *opts;
    struct herald_env *env;
    void *transport_state;
};

/* report - recipient i's word, or the session's reason when it had none */
static void
report(struct herald_delivery *d, size_t i, bool decided, enum herald_result result,
       const char *reply, const char *dsn, bool possibly, const char *session_reply,
       const char *peer)
{
    struct herald_report rep = {
        .result = decided ? result : HERALD_RESULT_DEFERRED,
        .reply = decided ? reply : session_reply,
        .dsn = decided ? dsn : NULL,
        .host = "words.test",
        .peer = *peer ? peer : NULL,
        .possibly_delivered = decided && possibly,
    };

    (void)herald_delivery_report(d, i, &rep);
}

#ifdef JOBWORDS_OLD
static void
on_done(void *arg, const struct herald_job_result *res)
{
    struct herald_delivery *d = arg;
    const struct job_result_2_3 *r = (const void *)res;
    size_t i;

    for (i = 0; i < r->count; i++)
        report(d, i, r->decided[i], r->result[i], r->rcpt_reply[i], r->rcpt_dsn[i],
               r->possibly_delivered[i], r->reply, r->peer);
    herald_delivery_done(d);
}
#else
/* same_word - rcpts[i] says what the deprecated arrays say */
static bool
same_word(const struct herald_job_result *res, size_t i)
{
    const struct herald_rcpt_word *w = &res->rcpts[i];

    if (w->decided != res->decided[i] || w->result != res->result[i]
        || w->possibly_delivered != res->possibly_delivered[i] || w->reply == NULL
        || w->dsn == NULL)
        return false;
    if (!w->decided)
        return res->rcpt_reply[i] == NULL && res->rcpt_dsn[i] == NULL && *w->reply == '\0'
               && *w->dsn == '\0' && w->result == HERALD_RESULT_DEFERRED;
    return res->rcpt_reply[i] != NULL && res->rcpt_dsn[i] != NULL
           && strcmp(w->reply, res->rcpt_reply[i]) == 0 && strcmp(w->dsn, res->rcpt_dsn[i]) == 0;
}

static void
on_done(void *arg, const struct herald_job_result *res)
{
    struct herald_delivery *d = arg;
    size_t i;

    for (i = 0; i < res->count; i++) {
        const struct herald_rcpt_word *w = &res->rcpts[i];

        if (!same_word(res, i))
            report(d, i, true, HERALD_RESULT_FAILED, "rcpts differs from the arrays", "5.3.0",
                   false, res->reply, res->peer);
        else
            report(d, i, w->decided, w->result, w->reply, w->dsn, w->possibly_delivered,
                   res->reply, res->peer);
    }
    herald_delivery_done(d);
}
#endif

static herald_status
jw_open(const char *device_name, const void *options, struct herald_env *env,
        void **state_out, struct herald_diag *diag)
{
    struct jw_device *dev = calloc(1, sizeof *dev);
    herald_status st;

    (void)device_name;
    if (dev == NULL)
        return HERALD_E_NOMEM;
    dev->opts = options;
    dev->env = env;
    st = herald_transport_open(&dev->opts->transport, env, &dev->transport_state, diag);
    if (st != HERALD_OK) {
        free(dev);
        return st;
    }
    *state_out = dev;
    return HERALD_OK;
}

static void
jw_deliver(void *state, struct herald_delivery *d)
{
    struct jw_device *dev = state;
    const struct herald_message *msg = herald_delivery_message(d);
    size_t i, n = herald_message_recipient_count(msg);
    const char **rcpts = calloc(n ? n : 1, sizeof *rcpts);
    struct herald_address hop = { .len = sizeof(struct sockaddr_in), .text = "127.0.0.1" };
    herald_status st = HERALD_E_NOMEM;

    hop.sa.ss_family = AF_INET;
    if (rcpts != NULL) {
        for (i = 0; i < n; i++)
            rcpts[i] = herald_message_recipient(msg, i);
        st = herald_transport_run(&dev->opts->transport, dev->transport_state, dev->env,
                                  herald_delivery_trace(d), msg, rcpts, n, "words.test", 25,
                                  "smarthost", &hop, on_done, d);
        free(rcpts);
    }
    if (st != HERALD_OK) {
        for (i = 0; i < n; i++)
            report(d, i, false, HERALD_RESULT_DEFERRED, "", "", false, herald_strerror(st), "");
        herald_delivery_done(d);
    }
}

static void
jw_close(void *state)
{
    struct jw_device *dev = state;

    if (dev == NULL)
        return;
    herald_transport_close(&dev->opts->transport, dev->transport_state);
    free(dev);
}

static const struct herald_device_ops jw_ops = {
    .struct_size = sizeof(struct herald_device_ops),
    .open = jw_open,
    .deliver = jw_deliver,
    .close = jw_close,
};

const struct herald_module herald_module = {
    .magic = HERALD_MODULE_MAGIC,
    .abi_major = HERALD_ABI_MAJOR,
    .abi_minor = JOBWORDS_MINOR,
    .struct_size = sizeof(struct herald_module),
    .kind = HERALD_KIND_DEVICE,
    .name = JOBWORDS_NAME,
    .summary = "reports the words of struct herald_job_result (test)",
    .options = jw_option_table,
    .options_size = sizeof(struct jw_options),
    .ops = &jw_ops,
};
