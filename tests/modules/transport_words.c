/*
 * transport_words.c - test module: a transport that speaks to no server and
 * gives each recipient the word its local part asks for, so a device's reading
 * of struct herald_job_result can be checked against known words:
 *   ok...    delivered, "250 2.0.0 taken by words"
 *   no...    failed, "550 5.1.1 no such user"
 *   maybe... deferred and possibly delivered, "451 4.4.2 lost after the dot"
 *   ctl...   delivered, a reply holding controls (the job keeps it printable)
 *   other    no word; the session then fails with "421 4.3.2 words closes"
 */
#include <string.h>

#include <herald/module.h>
#include <herald/transport.h>

static herald_status
words_start(void *state, struct herald_transport_job *job)
{
    size_t i, n = herald_job_recipient_count(job);
    bool silent = false;

    (void)state;
    herald_job_set_peer(job, "127.0.0.1:25");
    for (i = 0; i < n; i++) {
        const char *a = herald_job_recipient_address(job, i);

        if (strncmp(a, "ok", 2) == 0)
            herald_job_recipient(job, i, HERALD_RESULT_DELIVERED, "250 2.0.0 taken by words",
                                 "2.0.0", false);
        else if (strncmp(a, "no", 2) == 0)
            herald_job_recipient(job, i, HERALD_RESULT_FAILED, "550 5.1.1 no such user",
                                 "5.1.1", false);
        else if (strncmp(a, "maybe", 5) == 0)
            herald_job_recipient(job, i, HERALD_RESULT_DEFERRED,
                                 "451 4.4.2 lost after the dot", "4.4.2", true);
        else if (strncmp(a, "ctl", 3) == 0)
            herald_job_recipient(job, i, HERALD_RESULT_DELIVERED, "250 a\x1b[31mb\r\nc",
                                 "2.0.0", false);
        else
            silent = true;
    }
    if (silent)
        herald_job_session_failed(job, false, "421 4.3.2 words closes", "4.3.2");
    herald_job_done(job);
    return HERALD_OK;
}

static const struct herald_transport_ops words_ops = {
    .struct_size = sizeof(struct herald_transport_ops),
    .start = words_start,
};

const struct herald_module herald_module = {
    HERALD_MODULE_HEADER(HERALD_KIND_TRANSPORT),
    .name = "words",
    .summary = "each recipient's word from its local part, no server (test)",
    .ops = &words_ops,
};
