/* redis_lookup.c - host name lookups on helper threads (see
 * redis_lookup.h). Worker only.
 *
 * Why a thread and not libevent's evdns: getaddrinfo() keeps exactly the
 * answers hiredis itself would get (nsswitch, /etc/hosts and resolv.conf
 * re-read when they change, gai.conf), where evdns is a second resolver
 * with its own rules and sockets held by every worker. Lookups happen only
 * at (re)connects, so a thread each is cheap.
 *
 * getaddrinfo() cannot be interrupted, so "cancel" means "abandon". A
 * lookup (host copy, result, eventfd) is shared by the loop and the thread
 * under a reference count and a mutex; the thread touches nothing else,
 * and whichever side lets go last frees it and closes its eventfd (so the
 * fd number cannot be reused under the thread's write). The loop lets go
 * when the result arrives or when it abandons the lookup; a thread that
 * finishes after that finds it abandoned, writes nothing and frees it.
 * SPDX-License-Identifier: MIT */
#include "redis_lookup.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "defs.h"
#include "log.h"

/* Room for a numeric address ("ffff:...%scope"). */
#define REDIS_LOOKUP_ADDR_MAX 64

struct redis_lookup {
    int              refs;          /* under redis_lookup_lock */
    bool             abandoned;     /* under redis_lookup_lock */
    int              efd;           /* the thread's "done" signal */
    struct event    *ev;            /* loop side, on efd */
    redis_lookup_fn  fn;
    redis_lookup_cb  cb;
    void            *arg;
    int              rc;            /* written by the thread before */
    char             addr[REDIS_LOOKUP_ADDR_MAX];   /* it signals */
    char             err[160];
    char             host[CONFIG_PATH_MAX];
};

static pthread_mutex_t redis_lookup_lock = PTHREAD_MUTEX_INITIALIZER;

static void
redis_lookup_free(struct redis_lookup *l)
{
    int efd = l->efd;

    free(l);
    close(efd);         /* last: the fd number is free for reuse after this */
}

/* Loop side: let go of L. ABANDON: we no longer want the answer. */
static void
redis_lookup_release(struct redis_lookup *l, bool abandon)
{
    bool last;

    if (l->ev != NULL)
        event_free(l->ev);
    l->ev = NULL;
    pthread_mutex_lock(&redis_lookup_lock);
    if (abandon)
        l->abandoned = true;
    last = --l->refs == 0;
    pthread_mutex_unlock(&redis_lookup_lock);
    if (last)
        redis_lookup_free(l);
}

/* Thread side: look up, signal the loop unless it left, let go. */
static void *
redis_lookup_run(void *arg)
{
    struct redis_lookup *l = arg;
    uint64_t one = 1;
    bool last;

    l->rc = l->fn(l->host, l->addr, sizeof(l->addr), l->err, sizeof(l->err));
    pthread_mutex_lock(&redis_lookup_lock);
    if (!l->abandoned && write(l->efd, &one, sizeof(one)) < 0) {
        /* cannot fail: a fresh eventfd counter, written once */
    }
    last = --l->refs == 0;
    pthread_mutex_unlock(&redis_lookup_lock);
    if (last)
        redis_lookup_free(l);
    return NULL;
}

/* Loop side: the thread answered. */
static void
redis_lookup_done_cb(evutil_socket_t fd, short what, void *arg)
{
    struct redis_lookup *l = arg;
    char addr[REDIS_LOOKUP_ADDR_MAX], err[sizeof(l->err)];
    redis_lookup_cb cb = l->cb;
    void *cb_arg = l->arg;
    int rc;

    UNUSED(fd);
    UNUSED(what);
    clock_update();
    /* the thread wrote the answer before it signalled under the lock, so
     * taking the lock orders those writes before our reads */
    pthread_mutex_lock(&redis_lookup_lock);
    rc = l->rc;
    memcpy(addr, l->addr, sizeof(addr));
    addr[sizeof(addr) - 1] = '\0';
    memcpy(err, l->err, sizeof(err));
    err[sizeof(err) - 1] = '\0';
    pthread_mutex_unlock(&redis_lookup_lock);
    redis_lookup_release(l, false);
    cb(rc, addr, err, cb_arg);
}

struct redis_lookup *
redis_lookup_start(struct event_base *base, redis_lookup_fn fn,
                   const char *host, redis_lookup_cb cb, void *arg)
{
    struct redis_lookup *l = calloc(1, sizeof(*l));
    pthread_attr_t attr;
    pthread_t tid;
    sigset_t all, old;
    int rc;

    if (l == NULL)
        return NULL;
    l->refs = 2;                        /* the loop and the thread */
    l->fn = fn;
    l->cb = cb;
    l->arg = arg;
    snprintf(l->host, sizeof(l->host), "%s", host);
    l->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (l->efd < 0) {
        log_errno(LOG_ERR, errno, "eventfd() failed");
        free(l);
        return NULL;
    }
    l->ev = event_new(base, l->efd, EV_READ, redis_lookup_done_cb, l);
    if (l->ev == NULL || event_add(l->ev, NULL) < 0) {
        if (l->ev != NULL)
            event_free(l->ev);
        close(l->efd);
        free(l);
        return NULL;
    }
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    /* signals belong to the loop thread */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    rc = pthread_create(&tid, &attr, redis_lookup_run, l);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        log_errno(LOG_ERR, rc, "pthread_create() failed");
        event_free(l->ev);
        close(l->efd);
        free(l);
        return NULL;
    }
    return l;
}

void
redis_lookup_abandon(struct redis_lookup *l)
{
    if (l != NULL)
        redis_lookup_release(l, true);
}

const char *
redis_lookup_host(const struct redis_lookup *l)
{
    return l->host;
}
