/* redis_client.c - hiredis async client with deadlines and backoff (see
 * redis_client.h). Worker only; single-threaded; one connection per worker.
 *
 * hiredis answers every queued callback exactly once: with the reply, or
 * with NULL when the context dies. Our record of a command (struct
 * redis_cmd) is hiredis' privdata, so it is freed in that callback; when we
 * give up on a command first (deadline, broken connection) we answer the
 * caller at once and mark the record answered, and hiredis' later NULL
 * callback only frees it. A connection counts as up only after PING (and
 * AUTH/SELECT when configured) answered, so a frozen Redis that still
 * accepts TCP connections keeps backing off instead of flapping.
 * SPDX-License-Identifier: MIT */
#include "redis_client.h"

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
#include "timer.h"

struct redis_cmd {
    struct redis_cmd *next;
    redis_client_cb   cb;
    void             *arg;
    uint64_t          deadline;
    bool              answered;
};

static struct {
    struct event_base        *base;
    struct config             cfg;
    redisAsyncContext        *ac;           /* NULL when not connected */
    int                       state;
    int                       setup_left;   /* PING/AUTH/SELECT replies due */
    uint64_t                  connect_deadline;
    struct redis_cmd         *head, *tail;  /* sent, unanswered, in order */
    struct timer_node         timer;
    struct event             *reconnect_ev;
    int64_t                   backoff;      /* ms; 0 after a success */
    struct redis_client_stats st;
} R;

static void redis_client_drop(const char *why);

const char *
redis_client_state_name(int state)
{
    switch (state) {
    case REDIS_CLIENT_IDLE:       return "idle";
    case REDIS_CLIENT_CONNECTING: return "connecting";
    case REDIS_CLIENT_READY:      return "ready";
    case REDIS_CLIENT_BACKOFF:    return "down";
    default:                      return "?";
    }
}

int64_t
redis_client_backoff_next(int64_t cur, int64_t min, int64_t max)
{
    int64_t next = cur <= 0 ? min : cur * 2;

    if (next < min)
        next = min;
    return next > max ? max : next;
}

static void
redis_client_set_state(int state, const char *why)
{
    if (R.state == state)
        return;
    R.state = state;
    R.st.state = state;
    log_msg(LOG_NOTICE, "redis %s:%d %s%s%s (sent %llu, failed %llu, "
            "reconnects %llu)", R.cfg.redis_host, R.cfg.redis_port,
            redis_client_state_name(state), why ? ": " : "", why ? why : "",
            (unsigned long long) R.st.sent, (unsigned long long) R.st.failed,
            (unsigned long long) R.st.reconnects);
}

/* ---- Deadlines ---- */

static void
redis_client_arm(void)
{
    uint64_t next = UINT64_MAX;

    if (R.state == REDIS_CLIENT_CONNECTING)
        next = R.connect_deadline;
    if (R.head != NULL && R.head->deadline < next)
        next = R.head->deadline;
    if (next == UINT64_MAX)
        timer_clear(&R.timer);
    else
        timer_set(&R.timer, next);
}

static void
redis_client_timer_cb(struct timer_node *t)
{
    uint64_t now = clock_now();

    UNUSED(t);
    if (R.state == REDIS_CLIENT_CONNECTING && now >= R.connect_deadline) {
        redis_client_drop("no answer to connect/PING within redis_timeout");
        return;
    }
    if (R.head != NULL && now >= R.head->deadline) {
        redis_client_drop("a command got no answer within redis_timeout");
        return;
    }
    redis_client_arm();
}

/* ---- Answering commands ---- */

static void
redis_client_answer(struct redis_cmd *cmd, const redisReply *r)
{
    struct redis_client_reply rep;

    cmd->answered = true;
    if (r == NULL) {
        R.st.failed++;
        cmd->cb(NULL, cmd->arg);
        return;
    }
    memset(&rep, 0, sizeof(rep));
    switch (r->type) {
    case REDIS_REPLY_STRING:  rep.type = REDIS_CLIENT_STRING; break;
    case REDIS_REPLY_INTEGER: rep.type = REDIS_CLIENT_INTEGER; break;
    case REDIS_REPLY_NIL:     rep.type = REDIS_CLIENT_NIL; break;
    case REDIS_REPLY_STATUS:  rep.type = REDIS_CLIENT_STATUS; break;
    case REDIS_REPLY_ERROR:   rep.type = REDIS_CLIENT_ERROR; break;
    default:                  rep.type = REDIS_CLIENT_OTHER; break;
    }
    rep.integer = r->integer;
    rep.str = r->str;
    rep.len = r->str != NULL ? (size_t) r->len : 0;
    if (rep.type == REDIS_CLIENT_ERROR)
        log_msg(LOG_WARN, "redis error reply: %.*s", (int) rep.len, rep.str);
    cmd->cb(&rep, cmd->arg);
}

/* Answer every pending command with NULL. The state is already BACKOFF, so
 * callers that chain a new command get RC_ERR instead of a queue entry. */
static void
redis_client_fail_all(void)
{
    struct redis_cmd *cmd;

    while ((cmd = R.head) != NULL) {
        R.head = cmd->next;
        if (R.head == NULL)
            R.tail = NULL;
        redis_client_answer(cmd, NULL);
    }
    redis_client_arm();
}

static void
redis_client_schedule(void)
{
    struct timeval tv;

    R.backoff = redis_client_backoff_next(R.backoff, R.cfg.redis_reconnect_min,
                                          R.cfg.redis_reconnect_max);
    tv.tv_sec = (time_t) (R.backoff / 1000);
    tv.tv_usec = (suseconds_t) (R.backoff % 1000) * 1000;
    evtimer_add(R.reconnect_ev, &tv);
}

/* The connection is unusable: forget it, answer everyone, back off. */
static void
redis_client_lost(const char *why)
{
    char msg[256];

    R.ac = NULL;
    R.setup_left = 0;
    snprintf(msg, sizeof(msg), "%s; retrying in %lldms", why,
             (long long) redis_client_backoff_next(R.backoff,
                 R.cfg.redis_reconnect_min, R.cfg.redis_reconnect_max));
    redis_client_set_state(REDIS_CLIENT_BACKOFF, msg);
    redis_client_schedule();
    redis_client_fail_all();
}

/* We give up on the connection (deadline, AUTH refused). */
static void
redis_client_drop(const char *why)
{
    redisAsyncContext *ac = R.ac;

    redis_client_lost(why);
    if (ac != NULL)
        redisAsyncFree(ac);     /* deferred by hiredis inside its callbacks */
}

/* ---- hiredis callbacks ---- */

static void
redis_client_cmd_cb(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct redis_cmd *cmd = privdata, **pp;

    clock_update();
    if (!cmd->answered) {
        if (reply == NULL && ac == R.ac)
            redis_client_lost(ac->errstr[0] ? ac->errstr : "connection lost");
        for (pp = &R.head; *pp != NULL; pp = &(*pp)->next) {
            if (*pp == cmd) {
                *pp = cmd->next;
                if (R.tail == cmd) {
                    R.tail = NULL;
                    for (struct redis_cmd *c = R.head; c != NULL; c = c->next)
                        R.tail = c;
                }
                break;
            }
        }
        if (!cmd->answered)
            redis_client_answer(cmd, reply);
        redis_client_arm();
    }
    free(cmd);
}

static void
redis_client_setup_cb(redisAsyncContext *ac, void *reply, void *privdata)
{
    const redisReply *r = reply;
    const char *what = privdata;
    char msg[256];

    clock_update();
    if (ac != R.ac || r == NULL)
        return;         /* connection already gone; handled elsewhere */
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(msg, sizeof(msg), "%s refused: %.*s", what, (int) r->len, r->str);
        log_msg(LOG_ERR, "redis %s", msg);
        redis_client_drop(msg);
        return;
    }
    if (--R.setup_left == 0 && (ac->c.flags & REDIS_CONNECTED)) {
        R.backoff = 0;
        redis_client_set_state(REDIS_CLIENT_READY, NULL);
        redis_client_arm();
    }
}

static void
redis_client_connect_cb(const redisAsyncContext *ac, int status)
{
    clock_update();
    if (ac != R.ac)
        return;
    if (status != REDIS_OK) {
        /* hiredis frees the context after this callback */
        redis_client_lost(ac->errstr[0] ? ac->errstr : "connect failed");
        return;
    }
    log_msg(LOG_INFO, "redis connected to %s:%d", R.cfg.redis_host,
            R.cfg.redis_port);
}

static void
redis_client_disconnect_cb(const redisAsyncContext *ac, int status)
{
    clock_update();
    if (ac != R.ac)
        return;
    redis_client_lost(status == REDIS_OK ? "disconnected" :
                      (ac->errstr[0] ? ac->errstr : "connection lost"));
}

/* ---- Connecting ---- */

static int
redis_client_send_setup(const char *what, int argc, const char **argv)
{
    if (redisAsyncCommandArgv(R.ac, redis_client_setup_cb, (void *) what, argc,
                              argv, NULL) != REDIS_OK)
        return RC_ERR;
    R.setup_left++;
    return RC_OK;
}

static int
redis_client_connect(void)
{
    static const char *ping[] = { "PING" };
    const char *auth[] = { "AUTH", R.cfg.redis_password };
    char db[16];
    const char *select[] = { "SELECT", db };
    redisAsyncContext *ac;

    if (strncmp(R.cfg.redis_host, "unix:", 5) == 0)
        ac = redisAsyncConnectUnix(R.cfg.redis_host + 5);
    else
        ac = redisAsyncConnect(R.cfg.redis_host, R.cfg.redis_port);
    if (ac == NULL || ac->err) {
        char msg[256];
        snprintf(msg, sizeof(msg), "connect failed: %s",
                 ac != NULL ? ac->errstr : "out of memory");
        if (ac != NULL)
            redisAsyncFree(ac);
        R.ac = NULL;
        redis_client_lost(msg);
        return RC_ERR;
    }
    R.ac = ac;
    R.setup_left = 0;
    if (redisLibeventAttach(ac, R.base) != REDIS_OK) {
        redis_client_drop("cannot attach to the event loop");
        return RC_ERR;
    }
    redisAsyncSetConnectCallback(ac, redis_client_connect_cb);
    redisAsyncSetDisconnectCallback(ac, redis_client_disconnect_cb);

    snprintf(db, sizeof(db), "%d", R.cfg.redis_db);
    if ((R.cfg.redis_password[0] != '\0'
         && redis_client_send_setup("AUTH", 2, auth) != RC_OK)
        || (R.cfg.redis_db != 0
            && redis_client_send_setup("SELECT", 2, select) != RC_OK)
        || redis_client_send_setup("PING", 1, ping) != RC_OK) {
        redis_client_drop("cannot queue the connection setup");
        return RC_ERR;
    }
    R.connect_deadline = clock_now() + (uint64_t) R.cfg.redis_timeout;
    redis_client_set_state(REDIS_CLIENT_CONNECTING, NULL);
    redis_client_arm();
    return RC_OK;
}

static void
redis_client_reconnect_cb(evutil_socket_t fd, short what, void *arg)
{
    UNUSED(fd);
    UNUSED(what);
    UNUSED(arg);
    clock_update();
    if (R.state != REDIS_CLIENT_BACKOFF)
        return;
    R.st.reconnects++;
    redis_client_connect();
}

/* ---- API ---- */

int
redis_client_init(struct event_base *base, const struct config *cfg)
{
    memset(&R, 0, sizeof(R));
    R.base = base;
    R.cfg = *cfg;
    timer_node_init(&R.timer, redis_client_timer_cb);
    R.reconnect_ev = evtimer_new(base, redis_client_reconnect_cb, NULL);
    return R.reconnect_ev != NULL ? RC_OK : RC_ERR;
}

void
redis_client_deinit(void)
{
    redisAsyncContext *ac = R.ac;

    R.ac = NULL;
    R.state = REDIS_CLIENT_BACKOFF;     /* no new commands from callbacks */
    redis_client_fail_all();
    if (ac != NULL)
        redisAsyncFree(ac);
    timer_clear(&R.timer);
    if (R.reconnect_ev != NULL)
        event_free(R.reconnect_ev);
    R.reconnect_ev = NULL;
}

int
redis_client_command(redis_client_cb cb, void *arg, int argc,
                     const char **argv, const size_t *argvlen)
{
    struct redis_cmd *cmd;

    if (R.state == REDIS_CLIENT_IDLE && redis_client_connect() != RC_OK) {
        R.st.failed++;
        return RC_ERR;
    }
    if (R.state == REDIS_CLIENT_BACKOFF || R.ac == NULL) {
        R.st.failed++;
        return RC_ERR;
    }
    cmd = calloc(1, sizeof(*cmd));
    if (cmd == NULL)
        return RC_ERR;
    cmd->cb = cb;
    cmd->arg = arg;
    cmd->deadline = clock_now() + (uint64_t) R.cfg.redis_timeout;
    if (redisAsyncCommandArgv(R.ac, redis_client_cmd_cb, cmd, argc, argv,
                              argvlen) != REDIS_OK) {
        free(cmd);
        R.st.failed++;
        return RC_ERR;
    }
    if (R.tail != NULL)
        R.tail->next = cmd;
    else
        R.head = cmd;
    R.tail = cmd;
    R.st.sent++;
    if (R.head == cmd)
        redis_client_arm();
    return RC_OK;
}

bool
redis_client_down(void)
{
    return R.state == REDIS_CLIENT_BACKOFF;
}
