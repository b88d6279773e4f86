/*
 * compose.c - a message built from --subject, --text, --html and --attach
 * (herald send, and each composed line of send --batch), through the
 * library's streaming MIME builder (herald/mime.h)
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* compose_error - "WHO: WHAT "ARG": why" on stderr; returns rc */
static int
compose_error(const char *who, const char *what, const char *arg, herald_status st, int rc)
{
    fprintf(stderr, "%s: %s", who, what);
    if (arg != NULL) {
        fputs(" \"", stderr);
        cli_put_printable(stderr, arg);
        fputc('"', stderr);
    }
    fprintf(stderr, ": %s\n", herald_strerror(st));
    return rc;
}

/* file_rc - the exit code for a file the builder could not take */
static int
file_rc(herald_status st)
{
    if (st == HERALD_E_NOTFOUND || st == HERALD_E_IO)
        return EX_NOINPUT;
    return st == HERALD_E_INVAL || st == HERALD_E_LIMIT ? EX_USAGE : cli_exit_code(st);
}

/* add_attachment - "FILE[;TYPE[;NAME]]": an empty TYPE is guessed from the name */
static int
add_attachment(const char *who, struct herald_mime *m, const char *spec)
{
    char path[4096], type[256];
    const char *semi, *name = NULL, *t = NULL;
    size_t n;
    herald_status st;

    semi = strchr(spec, ';');
    n = semi != NULL ? (size_t)(semi - spec) : strlen(spec);
    if (n == 0 || n >= sizeof path)
        return compose_error(who, "--attach needs FILE[;TYPE[;NAME]], not", spec,
                             HERALD_E_INVAL, EX_USAGE);
    memcpy(path, spec, n);
    path[n] = '\0';
    if (semi != NULL) {
        const char *semi2 = strchr(semi + 1, ';');

        n = semi2 != NULL ? (size_t)(semi2 - semi - 1) : strlen(semi + 1);
        if (n >= sizeof type)
            return compose_error(who, "--attach: content type too long in", spec,
                                 HERALD_E_INVAL, EX_USAGE);
        memcpy(type, semi + 1, n);
        type[n] = '\0';
        t = n > 0 ? type : NULL;
        if (semi2 != NULL && semi2[1] != '\0')
            name = semi2 + 1;
    }
    st = herald_mime_add_attachment(m, path, t, name);
    if (st == HERALD_E_INVAL)
        return compose_error(who, "--attach: bad type or name in", spec, st, EX_USAGE);
    if (st != HERALD_OK)
        return compose_error(who, "cannot attach", path, st, file_rc(st));
    return EX_OK;
}

/* fill - everything the options name, into the builder */
static int
fill(const char *who, const struct cli_compose *c, const char *sender,
     const char *const *rcpt, size_t rcpt_count, struct herald_mime *m)
{
    herald_status st;
    size_t i;
    int rc;

    if (*sender != '\0') {
        st = herald_mime_set_from(m, NULL, sender);
        if (st != HERALD_OK)
            return compose_error(who, "bad From address", sender, st, EX_DATAERR);
    }
    for (i = 0; i < rcpt_count; i++) {
        st = herald_mime_add_to(m, NULL, rcpt[i]);
        if (st != HERALD_OK)
            return compose_error(who, "bad To address", rcpt[i], st,
                                 st == HERALD_E_ADDRESS ? EX_DATAERR : cli_exit_code(st));
    }
    st = herald_mime_set_subject(m, c->subject);
    if (st != HERALD_OK)
        return compose_error(who, "--subject must be UTF-8 text on one line, at most 4096 "
                             "octets", NULL, st, EX_USAGE);
    if (c->text != NULL) {
        st = strcmp(c->text, "-") == 0 ? herald_mime_set_text_fd(m, STDIN_FILENO)
                                       : herald_mime_set_text_file(m, c->text);
        if (st != HERALD_OK)
            return compose_error(who, "cannot read the text", c->text, st, file_rc(st));
    }
    if (c->html != NULL) {
        st = herald_mime_set_html_file(m, c->html);
        if (st != HERALD_OK)
            return compose_error(who, "cannot read the HTML", c->html, st, file_rc(st));
    }
    for (i = 0; i < c->attach_count; i++) {
        rc = add_attachment(who, m, c->attach[i]);
        if (rc != EX_OK)
            return rc;
    }
    return EX_OK;
}

/* cli_compose_body - build the message and make it msg's body */
int
cli_compose_body(const char *who, const struct cli_compose *c, const char *sender,
                 const char *const *rcpt, size_t rcpt_count, struct herald_message *msg)
{
    struct herald_mime *m = NULL;
    struct herald_diag diag;
    herald_status st;
    int rc;

    memset(&diag, 0, sizeof diag);
    st = herald_mime_new(&m);
    if (st != HERALD_OK)
        return compose_error(who, "cannot compose", NULL, st, cli_exit_code(st));
    rc = fill(who, c, sender, rcpt, rcpt_count, m);
    if (rc == EX_OK) {
        st = herald_mime_to_message(m, msg, &diag);
        if (st != HERALD_OK) {
            fprintf(stderr, "%s: ", who);
            cli_print_diag(&diag, "compose");
            rc = st == HERALD_E_IO ? EX_NOINPUT : cli_exit_code(st);
        }
    }
    herald_mime_free(&m);
    return rc;
}
