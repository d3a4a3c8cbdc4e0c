/* redis_sentinel.c - master discovery and +switch-master through Sentinel
 * (see redis_sentinel.h). Worker only; single-threaded (name lookups run
 * on redis_lookup's helper threads and answer on the loop).
 *
 * One discovery at a time walks the sentinel list: S.i is the entry being
 * asked, S.ac its hiredis connection and S.lookup its name lookup; a timer
 * bounds each entry by redis_timeout. Anything that goes wrong with an
 * entry (lookup failed, refused, broken, error or nil reply, deadline)
 * moves on to the next through redis_sentinel_next(), which remembers the
 * reason for failed(). A context we leave is set aside (S.ac = NULL)
 * before it is freed, so its late callbacks see it is no longer ours.
 *
 * The subscription (S.sub) reuses the connection of the sentinel that
 * answered: SUBSCRIBE is sent on it instead of closing it. hiredis runs
 * the subscribe callback for the confirmation, for every message and, with
 * NULL, when the connection dies. A lost subscription is renewed by a
 * discovery of our own (S.quiet: the client did not ask for it), at once
 * and then with the reconnect backoff while no sentinel answers; its
 * answer goes to the client as switched() (the client ignores a master it
 * already works with), so a failover that happened meanwhile is not missed.
 * SPDX-License-Identifier: MIT */
#include "redis_sentinel.h"

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "defs.h"
#include "log.h"
#include "redis_client.h"
#include "timer.h"

static struct {
    struct event_base        *base;
    struct redis_sentinel_ops ops;
    struct config_hostports   list;
    char                      name[128];
    int64_t                   timeout;      /* ms, per sentinel */
    redis_lookup_fn           fn;
    int                       i;            /* entry asked; -1: idle */
    redisAsyncContext        *ac;           /* its connection */
    struct redis_lookup      *lookup;       /* its name lookup */
    struct timer_node         timer;
    struct event             *start_ev;     /* starts a discovery */
    bool                      quiet;        /* ours, to subscribe again */
    int64_t                   backoff;      /* ms before the next quiet one */
    int64_t                   backoff_min, backoff_max;
    char                      why[CONFIG_HOST_MAX + 320]; /* the last entry */
    redisAsyncContext        *sub;          /* subscribed to +switch-master */
    int                       sub_i;        /* the entry it belongs to */
    bool                      ready;        /* init done */
} S;

static void redis_sentinel_try(void);
static void redis_sentinel_stop(void);

/* Our own discovery, to subscribe again: at once, or after the backoff
 * once one found no sentinel. */
static void
redis_sentinel_quiet_later(void)
{
    struct timeval tv = { 0, 0 };

    S.quiet = true;
    if (S.backoff > 0) {
        tv.tv_sec = (time_t) (S.backoff / 1000);
        tv.tv_usec = (suseconds_t) (S.backoff % 1000) * 1000;
    }
    S.backoff = redis_client_backoff_next(S.backoff, S.backoff_min,
                                          S.backoff_max);
    evtimer_add(S.start_ev, &tv);
}

/* The subscribed connection broke: renew it unless a discovery runs (it
 * subscribes when it succeeds). */
static void
redis_sentinel_sub_lost(void)
{
    S.sub = NULL;
    log_msg(LOG_INFO, "redis sentinel %s:%d: +switch-master subscription "
            "lost", S.list.v[S.sub_i].host, S.list.v[S.sub_i].port);
    if (S.i < 0 && !evtimer_pending(S.start_ev, NULL)) {
        S.backoff = 0;
        redis_sentinel_quiet_later();
    }
}

int
redis_sentinel_parse_switch(const char *msg, size_t len, const char *name,
                            char *host, size_t hostlen, int *port)
{
    const char *f[5], *p = msg, *end = msg + len;
    size_t flen[5], nlen = strlen(name);
    long v = 0;

    for (int k = 0; k < 5; k++) {
        while (p < end && *p == ' ')
            p++;
        f[k] = p;
        while (p < end && *p != ' ')
            p++;
        flen[k] = (size_t) (p - f[k]);
        if (flen[k] == 0)
            return RC_ERR;
    }
    while (p < end && *p == ' ')
        p++;
    if (p != end || flen[3] >= hostlen || flen[4] > 5)
        return RC_ERR;
    for (size_t k = 0; k < flen[4]; k++) {
        if (f[4][k] < '0' || f[4][k] > '9')
            return RC_ERR;
        v = v * 10 + (f[4][k] - '0');
    }
    if (v < 1 || v > 65535)
        return RC_ERR;
    if (flen[0] != nlen || memcmp(f[0], name, nlen) != 0)
        return RC_DONE;
    memcpy(host, f[3], flen[3]);
    host[flen[3]] = '\0';
    *port = (int) v;
    return RC_OK;
}

/* ---- Leaving an entry ---- */

/* Forget the query connection and the lookup of the current entry. */
static void
redis_sentinel_release(void)
{
    redisAsyncContext *ac = S.ac;

    S.ac = NULL;
    if (ac != NULL)
        redisAsyncFree(ac);     /* deferred by hiredis inside its callbacks */
    redis_lookup_abandon(S.lookup);
    S.lookup = NULL;
    timer_clear(&S.timer);
}

/* The current entry gave no master: note WHY, ask the next one. */
static void
redis_sentinel_next(const char *why)
{
    snprintf(S.why, sizeof(S.why), "sentinel %s:%d: %s", S.list.v[S.i].host,
             S.list.v[S.i].port, why);
    log_msg(LOG_INFO, "redis %s", S.why);
    redis_sentinel_release();
    S.i++;
    redis_sentinel_try();
}

/* ---- The query ---- */

static void
redis_sentinel_sub_cb(redisAsyncContext *ac, void *reply, void *privdata)
{
    const redisReply *r = reply;
    char host[CONFIG_HOST_MAX];
    int port;

    UNUSED(privdata);
    clock_update();
    if (ac != S.sub)
        return;
    if (r == NULL) {
        redis_sentinel_sub_lost();
        return;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3
        || r->element[0]->type != REDIS_REPLY_STRING
        || strcmp(r->element[0]->str, "message") != 0
        || r->element[2]->type != REDIS_REPLY_STRING)
        return;                 /* the subscribe confirmation */
    if (redis_sentinel_parse_switch(r->element[2]->str, r->element[2]->len,
                                    S.name, host, sizeof(host), &port)
        == RC_OK)
        S.ops.switched(host, port, "+switch-master");
}

static void
redis_sentinel_reply_cb(redisAsyncContext *ac, void *reply, void *privdata)
{
    const redisReply *r = reply;
    char host[CONFIG_HOST_MAX], why[256];
    long port;

    UNUSED(privdata);
    clock_update();
    if (ac != S.ac)
        return;
    if (r == NULL) {
        S.ac = NULL;            /* hiredis is freeing it */
        redis_sentinel_next(ac->errstr[0] ? ac->errstr : "connection lost");
        return;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(why, sizeof(why), "%.*s", (int) r->len, r->str);
        redis_sentinel_next(why);
        return;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2
        || r->element[0]->type != REDIS_REPLY_STRING
        || r->element[1]->type != REDIS_REPLY_STRING
        || r->element[0]->len == 0 || r->element[0]->len >= sizeof(host)) {
        snprintf(why, sizeof(why), "no master named %s", S.name);
        redis_sentinel_next(why);
        return;
    }
    port = strtol(r->element[1]->str, NULL, 10);
    if (port < 1 || port > 65535) {
        redis_sentinel_next("bad port in the master address");
        return;
    }
    memcpy(host, r->element[0]->str, r->element[0]->len);
    host[r->element[0]->len] = '\0';

    /* keep this connection for +switch-master if we have none */
    if (S.sub == NULL
        && redisAsyncCommand(ac, redis_sentinel_sub_cb, NULL,
                             "SUBSCRIBE +switch-master") == REDIS_OK) {
        S.sub = ac;
        S.sub_i = S.i;
        S.ac = NULL;
    }
    redis_sentinel_release();
    S.i = -1;
    if (S.quiet) {
        S.quiet = false;
        S.backoff = 0;
        S.ops.switched(host, (int) port, "from sentinel");
    } else {
        S.ops.found(host, (int) port);
    }
}

static void
redis_sentinel_connect_cb(const redisAsyncContext *ac, int status)
{
    clock_update();
    if (ac != S.ac || status == REDIS_OK)
        return;
    S.ac = NULL;                /* hiredis frees it after this callback */
    redis_sentinel_next(ac->errstr[0] ? ac->errstr : "connect failed");
}

static void
redis_sentinel_disconnect_cb(const redisAsyncContext *ac, int status)
{
    UNUSED(status);
    clock_update();
    if (ac == S.sub) {
        redis_sentinel_sub_lost();
    } else if (ac == S.ac) {
        S.ac = NULL;
        redis_sentinel_next(ac->errstr[0] ? ac->errstr : "connection lost");
    }
}

/* Ask the current entry, now at the numeric ADDR. Returns RC_OK, or RC_ERR
 * with the reason in WHY (nothing left behind). */
static int
redis_sentinel_ask(const char *addr, char *why, size_t whylen)
{
    redisAsyncContext *ac = redisAsyncConnect(addr, S.list.v[S.i].port);

    if (ac == NULL || ac->err) {
        snprintf(why, whylen, "%s", ac != NULL ? ac->errstr : "out of memory");
        if (ac != NULL)
            redisAsyncFree(ac);
        return RC_ERR;
    }
    if (redisLibeventAttach(ac, S.base) != REDIS_OK) {
        snprintf(why, whylen, "cannot attach to the event loop");
        redisAsyncFree(ac);
        return RC_ERR;
    }
    redisAsyncSetConnectCallback(ac, redis_sentinel_connect_cb);
    redisAsyncSetDisconnectCallback(ac, redis_sentinel_disconnect_cb);
    if (redisAsyncCommand(ac, redis_sentinel_reply_cb, NULL,
                          "SENTINEL get-master-addr-by-name %s", S.name)
        != REDIS_OK) {
        snprintf(why, whylen, "cannot queue the query");
        redisAsyncFree(ac);
        return RC_ERR;
    }
    S.ac = ac;
    return RC_OK;
}

static void
redis_sentinel_lookup_cb(int rc, const char *addr, const char *err, void *arg)
{
    char why[256];

    UNUSED(arg);
    S.lookup = NULL;
    if (rc != RC_OK) {
        snprintf(why, sizeof(why), "cannot resolve: %s", err);
        redis_sentinel_next(why);
    } else if (redis_sentinel_ask(addr, why, sizeof(why)) != RC_OK) {
        redis_sentinel_next(why);
    }
}

/* Start on entry S.i, skipping those that fail at once; after the last,
 * report failed(). */
static void
redis_sentinel_try(void)
{
    char why[256];
    const char *host;

    for (; S.i < S.list.n; S.i++) {
        host = S.list.v[S.i].host;
        timer_set(&S.timer, clock_now() + (uint64_t) S.timeout);
        if (redis_client_host_kind(host) == REDIS_CLIENT_HOST_NUMERIC) {
            if (redis_sentinel_ask(host, why, sizeof(why)) == RC_OK)
                return;
        } else {
            S.lookup = redis_lookup_start(S.base, S.fn, host,
                                          redis_sentinel_lookup_cb, NULL);
            if (S.lookup != NULL)
                return;
            snprintf(why, sizeof(why), "cannot start a name lookup");
        }
        snprintf(S.why, sizeof(S.why), "sentinel %s:%d: %s", host,
                 S.list.v[S.i].port, why);
        log_msg(LOG_INFO, "redis %s", S.why);
    }
    timer_clear(&S.timer);
    S.i = -1;
    if (S.quiet) {
        redis_sentinel_quiet_later();
        return;
    }
    S.ops.failed(S.why);
}

static void
redis_sentinel_timer_cb(struct timer_node *t)
{
    UNUSED(t);
    if (S.i < 0)
        return;
    if (clock_now() < S.timer.deadline) {
        timer_set(&S.timer, S.timer.deadline);
        return;
    }
    redis_sentinel_next("no answer within redis_timeout");
}

static void
redis_sentinel_start_cb(evutil_socket_t fd, short what, void *arg)
{
    UNUSED(fd);
    UNUSED(what);
    UNUSED(arg);
    clock_update();
    S.i = 0;
    snprintf(S.why, sizeof(S.why), "no sentinel configured");
    redis_sentinel_try();
}

/* ---- API ---- */

int
redis_sentinel_init(struct event_base *base, const struct config *cfg,
                    const struct redis_sentinel_ops *ops)
{
    memset(&S, 0, sizeof(S));
    S.base = base;
    S.ops = *ops;
    S.list = cfg->redis_sentinels;
    snprintf(S.name, sizeof(S.name), "%s", cfg->redis_master_name);
    S.timeout = cfg->redis_timeout;
    S.backoff_min = cfg->redis_reconnect_min;
    S.backoff_max = cfg->redis_reconnect_max;
    S.i = -1;
    timer_node_init(&S.timer, redis_sentinel_timer_cb);
    S.start_ev = evtimer_new(base, redis_sentinel_start_cb, NULL);
    if (S.start_ev == NULL)
        return RC_ERR;
    S.ready = true;
    return RC_OK;
}

void
redis_sentinel_deinit(void)
{
    redisAsyncContext *sub = S.sub;

    if (!S.ready)
        return;
    redis_sentinel_stop();
    S.sub = NULL;
    if (sub != NULL)
        redisAsyncFree(sub);
    event_free(S.start_ev);
    S.start_ev = NULL;
    S.ready = false;
}

/* Stop any discovery, ours too. */
static void
redis_sentinel_stop(void)
{
    evtimer_del(S.start_ev);
    redis_sentinel_release();
    S.i = -1;
    S.quiet = false;
}

int
redis_sentinel_discover(redis_lookup_fn fn)
{
    struct timeval now = { 0, 0 };

    if (!S.ready)
        return RC_ERR;
    redis_sentinel_stop();
    S.fn = fn;
    return evtimer_add(S.start_ev, &now) == 0 ? RC_OK : RC_ERR;
}

void
redis_sentinel_cancel(void)
{
    if (S.ready && !S.quiet)
        redis_sentinel_stop();
}
