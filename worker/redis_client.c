/* redis_client.c - hiredis async client with deadlines and backoff (see
 * redis_client.h). Worker only; one connection per worker; all state here
 * belongs to the loop thread.
 *
 * hiredis answers every queued callback exactly once: with the reply, or
 * with NULL when the context dies. Our record of a command (struct
 * redis_cmd) is hiredis' privdata, so it is freed in that callback; when we
 * give up on a command first (deadline, broken connection) we answer the
 * caller at once and mark the record answered, and hiredis' later NULL
 * callback only frees it. A command accepted while the host name is being
 * resolved has no hiredis context to go to yet: it waits, formatted, in our
 * list (cmd->fmt set, ours to free) and goes to hiredis right after the
 * connection setup. A connection counts as up only after PING (and
 * AUTH/SELECT when configured) answered, so a frozen Redis that still
 * accepts TCP connections keeps backing off instead of flapping.
 *
 * Name resolution. redisAsyncConnect() would resolve a name itself, with a
 * blocking getaddrinfo() on the loop: slow DNS would stall every connection
 * of the worker, static files too. So a name is looked up first on a
 * helper thread (redis_lookup.c), and hiredis then gets the numeric
 * address. Literals and unix:/path connect at once. The lookup counts as
 * part of the connect attempt: it is bounded by the same redis_timeout,
 * and a failure backs off like a refused connect. At most one lookup of
 * ours runs at a time: an attempt that times out while resolving leaves
 * its lookup running, and the next attempt for the same host waits for it
 * instead of starting another, so a DNS server that never answers cannot
 * pile up threads.
 *
 * Reconnects. A working connection (PING answered) that the other side
 * closes (Redis restarted, CLIENT KILL) is retried at once, on the next
 * loop turn; the backoff applies after a failed attempt, and a connection
 * we drop ourselves for a missed deadline counts as one (Redis may be
 * frozen). The immediate retry is granted at most once per
 * redis_reconnect_min, so a server that answers PING and hangs up at once
 * cannot turn it into a busy loop (see redis_client_retry_delay()).
 *
 * Sentinel. With redis_sentinels, every connect attempt starts with a
 * discovery (redis_sentinel.c, state DISCOVERING), and the address found
 * replaces redis_host/redis_port in our copy of the config, so the rest of
 * the attempt (lookup, connect, AUTH, SELECT, PING) is the plain path; the
 * setup adds ROLE, and a server that is not a master counts as a failed
 * attempt. Commands wait during the discovery as they do during a lookup,
 * each until its own deadline; once an attempt failed, no master is known
 * and commands fail at once (503) until the next one works. A READONLY
 * reply (we talk to a master that was demoted) and a +switch-master for
 * our name (or the answer that renewed a lost subscription, when it names
 * another master) end the connection and reconnect at once, the latter
 * straight to the address Sentinel named, even while backing off.
 *
 * Durable writes. redis_client_command_durable() pipelines WAIT after the
 * command; WAIT blocks on the server for up to redis_timeout, so its own
 * deadline here is twice that (commands behind it cannot be answered
 * earlier anyway: Redis answers a connection in order).
 * SPDX-License-Identifier: MIT */
#include "redis_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "clock.h"
#include "defs.h"
#include "log.h"
#include "metrics.h"
#include "redis_lookup.h"
#include "redis_sentinel.h"
#include "timer.h"

/* At most one warning about WAIT shortfalls per this many ms. */
#define REDIS_CLIENT_WAIT_WARN_MS 10000

struct redis_cmd {
    struct redis_cmd *next;
    redis_client_cb   cb;
    void             *arg;
    uint64_t          deadline;
    char             *fmt;          /* not yet handed to hiredis: ours */
    size_t            fmtlen;
    bool              answered;
};

static redis_client_resolve_fn redis_resolver = redis_client_resolve;

static struct {
    struct event_base        *base;
    struct config             cfg;
    redisAsyncContext        *ac;           /* NULL when not connected */
    int                       state;
    int                       setup_left;   /* PING/AUTH/SELECT replies due */
    uint64_t                  connect_deadline;  /* RESOLVING, CONNECTING */
    struct redis_cmd         *head, *tail;  /* accepted, unanswered, in order */
    struct timer_node         timer;
    struct event             *reconnect_ev;
    int64_t                   backoff;      /* ms; 0 after a success */
    uint64_t                  now_retry_at; /* last immediate reconnect */
    bool                      now_retried;  /* now_retry_at is set */
    struct redis_lookup      *job;          /* lookup in flight, or NULL */
    struct redis_client_stats st;
    bool                      timing_out;   /* failing commands: a deadline */
    /* Sentinel (cfg.redis_sentinels.n > 0): cfg.redis_host/redis_port hold
     * the master last found; switch_to, when set, is where the next attempt
     * goes without asking (a +switch-master) */
    bool                      sentinel;
    bool                      master_known;
    bool                      switch_to;
    bool                      wait_warned;
    uint64_t                  wait_warned_at;   /* last shortfall warning */
    uint64_t                  wait_unwarned;    /* shortfalls since */
} R;

static void redis_client_drop(const char *why);
static void redis_client_expire_waiting(uint64_t now);
static void redis_client_restart(const char *why);
static bool redis_client_readonly(const redisReply *r);
static bool redis_client_role_master(const redisReply *r);
static int redis_client_connect(void);

const char *
redis_client_state_name(int state)
{
    switch (state) {
    case REDIS_CLIENT_IDLE:       return "idle";
    case REDIS_CLIENT_RESOLVING:  return "resolving";
    case REDIS_CLIENT_CONNECTING: return "connecting";
    case REDIS_CLIENT_READY:      return "ready";
    case REDIS_CLIENT_BACKOFF:    return "down";
    case REDIS_CLIENT_DISCOVERING: return "asking sentinel";
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

int64_t
redis_client_retry_delay(int64_t cur, bool was_up, int64_t since_now,
                         int64_t min, int64_t max)
{
    if (was_up && (since_now < 0 || since_now >= min))
        return 0;
    return redis_client_backoff_next(cur, min, max);
}

int
redis_client_host_kind(const char *host)
{
    unsigned char buf[sizeof(struct in6_addr)];

    if (strncmp(host, "unix:", 5) == 0)
        return REDIS_CLIENT_HOST_UNIX;
    if (inet_pton(AF_INET, host, buf) == 1
        || inet_pton(AF_INET6, host, buf) == 1)
        return REDIS_CLIENT_HOST_NUMERIC;
    return REDIS_CLIENT_HOST_NAME;
}

static void
redis_client_set_state(int state, const char *why)
{
    if (R.state == state)
        return;
    R.state = state;
    R.st.state = state;
    metrics_self->redis_up = state == REDIS_CLIENT_READY;
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

    if (R.state == REDIS_CLIENT_RESOLVING || R.state == REDIS_CLIENT_CONNECTING)
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
    R.timing_out = true;        /* the commands failed now count as timeouts */
    if (R.state == REDIS_CLIENT_RESOLVING && now >= R.connect_deadline)
        redis_client_drop("no address for the host within redis_timeout");
    else if (R.state == REDIS_CLIENT_CONNECTING && now >= R.connect_deadline)
        redis_client_drop("no answer to connect/PING within redis_timeout");
    else if (R.state == REDIS_CLIENT_DISCOVERING) {
        redis_client_expire_waiting(now);
        redis_client_arm();
    } else if (R.head != NULL && now >= R.head->deadline)
        redis_client_drop("a command got no answer within redis_timeout");
    else
        redis_client_arm();
    R.timing_out = false;
}

/* ---- Answering commands ---- */

static void
redis_client_answer(struct redis_cmd *cmd, const redisReply *r)
{
    struct redis_client_reply rep;

    cmd->answered = true;
    if (r == NULL) {
        R.st.failed++;
        metrics_self->c.redis[R.timing_out ? METRICS_REDIS_TIMEOUT
                                           : METRICS_REDIS_ERROR]++;
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
    metrics_self->c.redis[rep.type == REDIS_CLIENT_ERROR ? METRICS_REDIS_ERROR
                                                         : METRICS_REDIS_OK]++;
    if (rep.type == REDIS_CLIENT_ERROR)
        log_msg(LOG_WARN, "redis error reply: %.*s", (int) rep.len, rep.str);
    cmd->cb(&rep, cmd->arg);
}

/* Answer every pending command with NULL. The state is already BACKOFF, so
 * callers that chain a new command get RC_ERR instead of a queue entry.
 * Commands hiredis holds are freed in its NULL callback; the ones it never
 * saw are freed here. */
static void
redis_client_fail_all(void)
{
    struct redis_cmd *cmd;

    while ((cmd = R.head) != NULL) {
        bool ours = cmd->fmt != NULL;

        R.head = cmd->next;
        if (R.head == NULL)
            R.tail = NULL;
        redis_client_answer(cmd, NULL);
        if (ours) {
            redisFreeCommand(cmd->fmt);
            free(cmd);
        }
    }
    redis_client_arm();
}

static void
redis_client_schedule(int64_t ms)
{
    struct timeval tv;

    tv.tv_sec = (time_t) (ms / 1000);
    tv.tv_usec = (suseconds_t) (ms % 1000) * 1000;
    evtimer_add(R.reconnect_ev, &tv);
}

/* The connection (or the attempt) is unusable: forget it, answer everyone,
 * schedule the next attempt. WAS_UP: it worked and the other side ended it,
 * so the next attempt comes at once (see redis_client_retry_delay()). */
static void
redis_client_lost(const char *why, bool was_up)
{
    uint64_t now = clock_now();
    int64_t since = R.now_retried ? (int64_t) (now - R.now_retry_at) : -1;
    int64_t delay;
    char msg[320];

    delay = redis_client_retry_delay(R.backoff, was_up, since,
                                     R.cfg.redis_reconnect_min,
                                     R.cfg.redis_reconnect_max);
    if (delay == 0) {
        R.now_retry_at = now;
        R.now_retried = true;
        snprintf(msg, sizeof(msg), "%s; reconnecting now", why);
    } else {
        R.backoff = delay;
        snprintf(msg, sizeof(msg), "%s; retrying in %lldms", why,
                 (long long) delay);
    }
    R.ac = NULL;
    R.setup_left = 0;
    redis_client_set_state(REDIS_CLIENT_BACKOFF, msg);
    redis_client_schedule(delay);
    redis_client_fail_all();
}

/* We give up on the attempt or the connection (deadline, AUTH refused).
 * A name lookup in flight keeps running: the next attempt waits for it. */
static void
redis_client_drop(const char *why)
{
    redisAsyncContext *ac = R.ac;

    redis_client_lost(why, false);
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
            redis_client_lost(ac->errstr[0] ? ac->errstr : "connection lost",
                              R.state == REDIS_CLIENT_READY);
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
        if (R.sentinel && ac == R.ac && redis_client_readonly(reply))
            redis_client_restart("the master turned replica (READONLY)");
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
    if (strcmp(what, "ROLE") == 0 && !redis_client_role_master(r)) {
        redis_client_drop("ROLE says it is not a master");
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
        redis_client_lost(ac->errstr[0] ? ac->errstr : "connect failed",
                          false);
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
                      (ac->errstr[0] ? ac->errstr : "connection lost"),
                      R.state == REDIS_CLIENT_READY);
}

/* ---- Connecting ---- */

/* ROLE answered "master" first. */
static bool
redis_client_role_master(const redisReply *r)
{
    return r->type == REDIS_REPLY_ARRAY && r->elements > 0
           && r->element[0]->type == REDIS_REPLY_STRING
           && strcmp(r->element[0]->str, "master") == 0;
}

static int
redis_client_send_setup(const char *what, int argc, const char **argv)
{
    if (redisAsyncCommandArgv(R.ac, redis_client_setup_cb, (void *) what, argc,
                              argv, NULL) != REDIS_OK)
        return RC_ERR;
    R.setup_left++;
    return RC_OK;
}

/* Hand the commands that waited for the lookup to hiredis, after the setup
 * commands, in order. */
static int
redis_client_send_waiting(void)
{
    for (struct redis_cmd *cmd = R.head; cmd != NULL; cmd = cmd->next) {
        if (cmd->fmt == NULL)
            continue;
        if (redisAsyncFormattedCommand(R.ac, redis_client_cmd_cb, cmd,
                                       cmd->fmt, cmd->fmtlen) != REDIS_OK)
            return RC_ERR;
        redisFreeCommand(cmd->fmt);
        cmd->fmt = NULL;
    }
    return RC_OK;
}

/* Start the hiredis connection to ADDR (a literal; NULL for unix:/path)
 * and queue the setup. The attempt's deadline is already set. */
static int
redis_client_open(const char *addr)
{
    static const char *ping[] = { "PING" };
    static const char *role[] = { "ROLE" };
    const char *auth[] = { "AUTH", R.cfg.redis_password };
    char db[16];
    const char *select[] = { "SELECT", db };
    redisAsyncContext *ac;

    if (addr == NULL)
        ac = redisAsyncConnectUnix(R.cfg.redis_host + 5);
    else
        ac = redisAsyncConnect(addr, R.cfg.redis_port);
    if (ac == NULL || ac->err) {
        char msg[256];
        snprintf(msg, sizeof(msg), "connect failed: %s",
                 ac != NULL ? ac->errstr : "out of memory");
        if (ac != NULL)
            redisAsyncFree(ac);
        R.ac = NULL;
        redis_client_lost(msg, false);
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
        || redis_client_send_setup("PING", 1, ping) != RC_OK
        || (R.sentinel && redis_client_send_setup("ROLE", 1, role) != RC_OK)
        || redis_client_send_waiting() != RC_OK) {
        redis_client_drop("cannot queue the connection setup");
        return RC_ERR;
    }
    if (addr != NULL && strcmp(addr, R.cfg.redis_host) != 0)
        log_msg(LOG_INFO, "redis %s is %s", R.cfg.redis_host, addr);
    redis_client_set_state(REDIS_CLIENT_CONNECTING, NULL);
    redis_client_arm();
    return RC_OK;
}

/* ---- Name lookup on a helper thread ---- */

int
redis_client_resolve(const char *host, char *addr, size_t addrlen, char *err,
                     size_t errlen)
{
    struct addrinfo hints, *res = NULL;
    int rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_family = AF_INET;
    rc = getaddrinfo(host, NULL, &hints, &res);
    if (rc == EAI_NONAME || rc == EAI_NODATA || rc == EAI_ADDRFAMILY) {
        hints.ai_family = AF_INET6;
        rc = getaddrinfo(host, NULL, &hints, &res);
    }
    if (rc != 0) {
        snprintf(err, errlen, "%s", rc == EAI_SYSTEM ? strerror(errno)
                                                     : gai_strerror(rc));
        return RC_ERR;
    }
    rc = getnameinfo(res->ai_addr, res->ai_addrlen, addr, (socklen_t) addrlen,
                     NULL, 0, NI_NUMERICHOST);
    freeaddrinfo(res);
    if (rc != 0) {
        snprintf(err, errlen, "%s", gai_strerror(rc));
        return RC_ERR;
    }
    return RC_OK;
}

void
redis_client_set_resolver(redis_client_resolve_fn fn)
{
    redis_resolver = fn != NULL ? fn : redis_client_resolve;
}

/* The lookup of redis_host answered. Its answer is used only if we still
 * wait for it; an attempt that gave up meanwhile left it to the next one,
 * which starts a fresh lookup. */
static void
redis_client_lookup_done(int rc, const char *addr, const char *err, void *arg)
{
    char msg[CONFIG_PATH_MAX + 200];

    UNUSED(arg);
    R.job = NULL;
    if (R.state != REDIS_CLIENT_RESOLVING)
        return;
    if (rc != RC_OK) {
        snprintf(msg, sizeof(msg), "cannot resolve %s: %s", R.cfg.redis_host,
                 err);
        redis_client_lost(msg, false);
        return;
    }
    redis_client_open(addr);
}

/* The part of an attempt after the master is known: resolve the name if
 * there is one, then open. */
static int
redis_client_connect_master(void)
{
    R.connect_deadline = clock_now() + (uint64_t) R.cfg.redis_timeout;
    switch (redis_client_host_kind(R.cfg.redis_host)) {
    case REDIS_CLIENT_HOST_UNIX:
        return redis_client_open(NULL);
    case REDIS_CLIENT_HOST_NUMERIC:
        return redis_client_open(R.cfg.redis_host);
    default:
        break;
    }
    /* a lookup left over from an attempt that timed out is still ours,
     * unless Sentinel has named another host since */
    if (R.job != NULL && strcmp(redis_lookup_host(R.job), R.cfg.redis_host)) {
        redis_lookup_abandon(R.job);
        R.job = NULL;
    }
    if (R.job == NULL)
        R.job = redis_lookup_start(R.base, redis_resolver, R.cfg.redis_host,
                                   redis_client_lookup_done, NULL);
    if (R.job == NULL) {
        redis_client_lost("cannot start a name lookup", false);
        return RC_ERR;
    }
    redis_client_set_state(REDIS_CLIENT_RESOLVING, NULL);
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

/* ---- Sentinel ---- */

/* Commands wait in our list (no hiredis context yet). */
static bool
redis_client_waiting(void)
{
    return R.state == REDIS_CLIENT_RESOLVING
           || R.state == REDIS_CLIENT_DISCOVERING;
}

/* Answer, with NULL, the waiting commands whose deadline has passed; the
 * discovery goes on for the others. All of them are ours (cmd->fmt set):
 * there is no context yet. */
static void
redis_client_expire_waiting(uint64_t now)
{
    struct redis_cmd *cmd;

    while ((cmd = R.head) != NULL && cmd->fmt != NULL && now >= cmd->deadline) {
        R.head = cmd->next;
        if (R.head == NULL)
            R.tail = NULL;
        redis_client_answer(cmd, NULL);
        redisFreeCommand(cmd->fmt);
        free(cmd);
    }
}

static bool
redis_client_readonly(const redisReply *r)
{
    return r != NULL && r->type == REDIS_REPLY_ERROR
           && strncmp(r->str, "READONLY", 8) == 0;
}

/* Record HOST:PORT as the master (logged at NOTICE when it changed). */
static void
redis_client_master_is(const char *host, int port, const char *how)
{
    if (R.master_known && port == R.cfg.redis_port
        && strcmp(host, R.cfg.redis_host) == 0)
        return;
    if (R.master_known)
        log_msg(LOG_NOTICE, "redis master %s moved from %s:%d to %s:%d (%s)",
                R.cfg.redis_master_name, R.cfg.redis_host, R.cfg.redis_port,
                host, port, how);
    else
        log_msg(LOG_NOTICE, "redis master %s is %s:%d (%s)",
                R.cfg.redis_master_name, host, port, how);
    snprintf(R.cfg.redis_host, sizeof(R.cfg.redis_host), "%s", host);
    R.cfg.redis_port = port;
    R.master_known = true;
}

/* End the connection or attempt and start another on the next loop turn,
 * whatever the backoff: the master moved. Pending commands get NULL. */
static void
redis_client_restart(const char *why)
{
    redisAsyncContext *ac = R.ac;

    R.ac = NULL;
    R.setup_left = 0;
    R.backoff = 0;
    redis_sentinel_cancel();
    evtimer_del(R.reconnect_ev);
    redis_client_set_state(REDIS_CLIENT_BACKOFF, why);
    redis_client_schedule(0);
    redis_client_fail_all();
    if (ac != NULL)
        redisAsyncFree(ac);     /* deferred by hiredis inside its callbacks */
}

static void
redis_client_sentinel_found(const char *host, int port)
{
    if (R.state != REDIS_CLIENT_DISCOVERING)
        return;
    redis_client_master_is(host, port, "from sentinel");
    redis_client_connect_master();
}

static void
redis_client_sentinel_failed(const char *why)
{
    char msg[400];

    if (R.state != REDIS_CLIENT_DISCOVERING)
        return;
    snprintf(msg, sizeof(msg), "no master known (%s)", why);
    redis_client_lost(msg, false);
}

static void
redis_client_sentinel_switched(const char *host, int port, const char *how)
{
    bool same = R.master_known && port == R.cfg.redis_port
                && strcmp(host, R.cfg.redis_host) == 0;
    char why[64];

    if (same && (R.state == REDIS_CLIENT_READY
                 || R.state == REDIS_CLIENT_CONNECTING
                 || R.state == REDIS_CLIENT_RESOLVING))
        return;                 /* we are there, or on the way */
    redis_client_master_is(host, port, how);
    R.switch_to = true;
    snprintf(why, sizeof(why), "going to the master sentinel named (%s)",
             how);
    redis_client_restart(why);
}

/* One connect attempt: with Sentinel, ask for the master first (unless a
 * +switch-master just named it). */
static int
redis_client_connect(void)
{
    if (!R.sentinel || R.switch_to) {
        R.switch_to = false;
        return redis_client_connect_master();
    }
    redis_client_set_state(REDIS_CLIENT_DISCOVERING, NULL);
    if (redis_sentinel_discover(redis_resolver) != RC_OK) {
        redis_client_lost("cannot ask the sentinels", false);
        return RC_ERR;
    }
    redis_client_arm();
    return RC_OK;
}

/* ---- Durable writes ---- */

/* A command and the WAIT after it; the caller's CB gets the command's
 * reply (copied here) once WAIT answered. */
struct redis_durable {
    redis_client_cb           cb;
    void                     *arg;
    bool                      failed;   /* the command got NULL */
    bool                      no_wait;  /* WAIT not queued: answer at once */
    struct redis_client_reply rep;
    char                     *str;      /* rep.str, ours */
};

static void
redis_client_durable_end(struct redis_durable *d)
{
    d->cb(d->failed ? NULL : &d->rep, d->arg);
    free(d->str);
    free(d);
}

static void
redis_client_wait_shortfall(long long acked)
{
    uint64_t now = clock_now();

    R.st.wait_short++;
    R.wait_unwarned++;
    if (R.wait_warned && now - R.wait_warned_at < REDIS_CLIENT_WAIT_WARN_MS)
        return;
    log_msg(LOG_WARN, "redis WAIT: %lld of %d replicas acknowledged a write "
            "within %lldms (%llu such writes since the last warning, %llu "
            "in all)", acked, R.cfg.redis_wait_replicas,
            (long long) R.cfg.redis_timeout,
            (unsigned long long) R.wait_unwarned,
            (unsigned long long) R.st.wait_short);
    R.wait_warned = true;
    R.wait_warned_at = now;
    R.wait_unwarned = 0;
}

static void
redis_client_durable_cmd_cb(const struct redis_client_reply *r, void *arg)
{
    struct redis_durable *d = arg;

    if (r == NULL) {
        d->failed = true;
    } else {
        d->rep = *r;
        if (r->str != NULL) {
            d->str = malloc(r->len + 1);
            if (d->str == NULL) {
                d->failed = true;
            } else {
                memcpy(d->str, r->str, r->len);
                d->str[r->len] = '\0';
            }
        }
        d->rep.str = d->str;
    }
    if (d->no_wait)
        redis_client_durable_end(d);
}

static void
redis_client_durable_wait_cb(const struct redis_client_reply *r, void *arg)
{
    struct redis_durable *d = arg;

    /* a write that was refused or never answered has nothing to wait for;
     * a write that stands is reported, however the WAIT went */
    if (!d->failed && d->rep.type != REDIS_CLIENT_ERROR
        && (r == NULL || r->type != REDIS_CLIENT_INTEGER
            || r->integer < R.cfg.redis_wait_replicas))
        redis_client_wait_shortfall(r != NULL && r->type == REDIS_CLIENT_INTEGER
                                    ? r->integer : -1);
    redis_client_durable_end(d);
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
    if (R.reconnect_ev == NULL)
        return RC_ERR;
    R.sentinel = cfg->redis_sentinels.n > 0;
    if (R.sentinel) {
        static const struct redis_sentinel_ops ops = {
            redis_client_sentinel_found, redis_client_sentinel_failed,
            redis_client_sentinel_switched
        };
        /* until Sentinel names the master, logs show its name */
        snprintf(R.cfg.redis_host, sizeof(R.cfg.redis_host), "%s",
                 cfg->redis_master_name);
        R.cfg.redis_port = 0;
        return redis_sentinel_init(base, cfg, &ops);
    }
    return RC_OK;
}

void
redis_client_deinit(void)
{
    redisAsyncContext *ac = R.ac;

    R.ac = NULL;
    R.state = REDIS_CLIENT_BACKOFF;     /* no new commands from callbacks */
    if (R.sentinel)
        redis_sentinel_deinit();
    redis_client_fail_all();
    if (ac != NULL)
        redisAsyncFree(ac);
    redis_lookup_abandon(R.job);
    R.job = NULL;
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
    int len;

    if (R.state == REDIS_CLIENT_IDLE && redis_client_connect() != RC_OK) {
        R.st.failed++;
        metrics_self->c.redis[METRICS_REDIS_ERROR]++;
        return RC_ERR;
    }
    if (R.state == REDIS_CLIENT_BACKOFF
        || (!redis_client_waiting() && R.ac == NULL)) {
        R.st.failed++;
        metrics_self->c.redis[METRICS_REDIS_ERROR]++;
        return RC_ERR;
    }
    cmd = calloc(1, sizeof(*cmd));
    if (cmd == NULL)
        return RC_ERR;
    cmd->cb = cb;
    cmd->arg = arg;
    cmd->deadline = clock_now() + (uint64_t) R.cfg.redis_timeout;
    if (redis_client_waiting()) {
        /* no context yet: keep it formatted until the connection opens */
        len = redisFormatCommandArgv(&cmd->fmt, argc, argv, argvlen);
        if (len < 0) {
            free(cmd);
            R.st.failed++;
            metrics_self->c.redis[METRICS_REDIS_ERROR]++;
            return RC_ERR;
        }
        cmd->fmtlen = (size_t) len;
    } else if (redisAsyncCommandArgv(R.ac, redis_client_cmd_cb, cmd, argc,
                                     argv, argvlen) != REDIS_OK) {
        free(cmd);
        R.st.failed++;
        metrics_self->c.redis[METRICS_REDIS_ERROR]++;
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

int
redis_client_command_durable(redis_client_cb cb, void *arg, int argc,
                             const char **argv, const size_t *argvlen)
{
    struct redis_durable *d;
    char n[16], ms[24];
    const char *wargv[] = { "WAIT", n, ms };
    size_t wl[3];

    if (R.cfg.redis_wait_replicas <= 0)
        return redis_client_command(cb, arg, argc, argv, argvlen);
    d = calloc(1, sizeof(*d));
    if (d == NULL)
        return RC_ERR;
    d->cb = cb;
    d->arg = arg;
    if (redis_client_command(redis_client_durable_cmd_cb, d, argc, argv,
                             argvlen) != RC_OK) {
        free(d);
        return RC_ERR;
    }
    snprintf(n, sizeof(n), "%d", R.cfg.redis_wait_replicas);
    snprintf(ms, sizeof(ms), "%lld", (long long) R.cfg.redis_timeout);
    wl[0] = 4;
    wl[1] = strlen(n);
    wl[2] = strlen(ms);
    if (redis_client_command(redis_client_durable_wait_cb, d, 3, wargv, wl)
        != RC_OK) {
        d->no_wait = true;      /* the command's answer ends it */
        return RC_OK;
    }
    /* WAIT itself may take redis_timeout on the server */
    R.tail->deadline += (uint64_t) R.cfg.redis_timeout;
    return RC_OK;
}

uint64_t
redis_client_wait_short(void)
{
    return R.st.wait_short;
}
