/*
 * spool_reap.c - close removed queue files in a few threads (spool_reap.h)
 */
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "spool_reap.h"

#define REAP_THREADS 8      /* discards the disk serves at once; more buys little */
#define REAP_MAX 256        /* descriptors waiting: bounded, far below RLIMIT_NOFILE */

struct spool_reap {
    pthread_mutex_t mu;
    pthread_cond_t work;    /* a descriptor is queued, or stop */
    pthread_cond_t room;    /* a slot is free */
    int fds[REAP_MAX];
    size_t head, count;
    pthread_t threads[REAP_THREADS];
    size_t started;
    bool stop;
};

/* reaper - close queued descriptors until stopped and drained */
static void *
reaper(void *arg)
{
    struct spool_reap *rp = arg;

    pthread_mutex_lock(&rp->mu);
    for (;;) {
        int fd;

        while (rp->count == 0 && !rp->stop)
            pthread_cond_wait(&rp->work, &rp->mu);
        if (rp->count == 0)
            break;
        fd = rp->fds[rp->head];
        rp->head = (rp->head + 1) % REAP_MAX;
        rp->count--;
        pthread_cond_signal(&rp->room);
        pthread_mutex_unlock(&rp->mu);
        close(fd);   /* the blocks are freed (and discarded) here */
        pthread_mutex_lock(&rp->mu);
    }
    pthread_mutex_unlock(&rp->mu);
    return NULL;
}

struct spool_reap *
spool_reap_new(void)
{
    struct spool_reap *rp = calloc(1, sizeof *rp);

    if (rp == NULL)
        return NULL;
    if (pthread_mutex_init(&rp->mu, NULL) != 0) {
        free(rp);
        return NULL;
    }
    if (pthread_cond_init(&rp->work, NULL) != 0) {
        pthread_mutex_destroy(&rp->mu);
        free(rp);
        return NULL;
    }
    if (pthread_cond_init(&rp->room, NULL) != 0) {
        pthread_cond_destroy(&rp->work);
        pthread_mutex_destroy(&rp->mu);
        free(rp);
        return NULL;
    }
    return rp;
}

/* start - the threads, once; false if none could start (close in place) */
static bool
start(struct spool_reap *rp)
{
    sigset_t all, old;

    /* Signals stay with the caller's thread (a runner's stop request). */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    while (rp->started < REAP_THREADS &&
           pthread_create(&rp->threads[rp->started], NULL, reaper, rp) == 0)
        rp->started++;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rp->started > 0;
}

void
spool_reap_close(struct spool_reap *rp, int fd)
{
    if (fd < 0)
        return;
    if (rp == NULL) {
        close(fd);
        return;
    }
    pthread_mutex_lock(&rp->mu);
    if (rp->started == 0 && !start(rp)) {
        pthread_mutex_unlock(&rp->mu);
        close(fd);
        return;
    }
    while (rp->count == REAP_MAX)
        pthread_cond_wait(&rp->room, &rp->mu);
    rp->fds[(rp->head + rp->count) % REAP_MAX] = fd;
    rp->count++;
    pthread_cond_signal(&rp->work);
    pthread_mutex_unlock(&rp->mu);
}

void
spool_reap_free(struct spool_reap *rp)
{
    size_t i;

    if (rp == NULL)
        return;
    pthread_mutex_lock(&rp->mu);
    rp->stop = true;
    pthread_cond_broadcast(&rp->work);
    pthread_mutex_unlock(&rp->mu);
    for (i = 0; i < rp->started; i++)
        pthread_join(rp->threads[i], NULL);
    pthread_cond_destroy(&rp->room);
    pthread_cond_destroy(&rp->work);
    pthread_mutex_destroy(&rp->mu);
    free(rp);
}
