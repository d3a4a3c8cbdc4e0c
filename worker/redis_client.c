/* redis_client.c - hiredis async client with deadlines and backoff (see
 * redis_client.h). Worker only; one connection per worker; all state here
 * belongs to the loop thread, except a name lookup's job (below).
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
 * of the worker, static files too. So a name is looked up first by a
 * short-lived helper thread that calls getaddrinfo() and reports through an
 * eventfd the loop watches (as crypt_pool.c does), and hiredis then gets
 * the numeric address, which getaddrinfo() parses without any lookup.
 * Literals and unix:/path connect at once. We chose a thread over
 * libevent's evdns: getaddrinfo() keeps exactly the answers hiredis gave
 * (nsswitch, /etc/hosts and resolv.conf re-read when they change, gai.conf)
 * where evdns is a second resolver with its own rules and sockets held by
 * every worker; lookups happen only at (re)connects, so a thread each is
 * cheap. The lookup counts as part of the connect attempt: it is bounded
 * by the same redis_timeout, and a failure backs off like a refused
 * connect.
 *
 * getaddrinfo() cannot be interrupted, so "cancel" means "abandon". The
 * job (host copy, result, eventfd) is shared by the loop and the thread
 * under a reference count and a mutex; the thread touches nothing else,
 * and whichever side lets go last frees the job and closes its eventfd (so
 * the fd number cannot be reused under the thread's write). The loop lets
 * go when the result arrives or at deinit; a thread that finishes after
 * deinit finds the job abandoned, writes nothing and frees it, and one
 * still blocked when the worker exits dies with the process. At most one
 * lookup runs at a time: an attempt that times out while resolving leaves
 * its job running, and the next attempt waits for that job instead of
 * starting another, so a DNS server that never answers cannot pile up
 * threads.
 *
 * Reconnects. A working connection (PING answered) that the other side
 * closes (Redis restarted, CLIENT KILL) is retried at once, on the next
 * loop turn; the backoff applies after a failed attempt, and a connection
 * we drop ourselves for a missed deadline counts as one (Redis may be
 * frozen). The immediate retry is granted at most once per
 * redis_reconnect_min, so a server that answers PING and hangs up at once
 * cannot turn it into a busy loop (see redis_client_retry_delay()).
 * SPDX-License-Identifier: MIT */
#include "redis_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "defs.h"
#include "log.h"
#include "metrics.h"
#include "timer.h"

struct redis_cmd {
    struct redis_cmd *next;
    redis_client_cb   cb;
    void             *arg;
    uint64_t          deadline;
    char             *fmt;          /* not yet handed to hiredis: ours */
    size_t            fmtlen;
    bool              answered;
};

/* One name lookup, shared by the loop and its thread (see the top). */
struct redis_job {
    int                     refs;       /* under redis_job_lock */
    bool                    abandoned;  /* under redis_job_lock */
    int                     efd;        /* the thread's "done" signal */
    redis_client_resolve_fn resolve;
    int                     rc;         /* written by the thread before */
    char                    addr[REDIS_CLIENT_ADDR_MAX];  /* it signals */
    char                    err[160];
    char                    host[CONFIG_PATH_MAX];
};

static pthread_mutex_t         redis_job_lock = PTHREAD_MUTEX_INITIALIZER;
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
    struct redis_job         *job;          /* lookup in flight, or NULL */
    struct event             *job_ev;       /* on job->efd */
    struct redis_client_stats st;
    bool                      timing_out;   /* failing commands: a deadline */
} R;

static void redis_client_drop(const char *why);

const char *
redis_client_state_name(int state)
{
    switch (state) {
    case REDIS_CLIENT_IDLE:       return "idle";
    case REDIS_CLIENT_RESOLVING:  return "resolving";
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
    else if (R.head != NULL && now >= R.head->deadline)
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

static void
redis_client_job_free(struct redis_job *j)
{
    int efd = j->efd;

    free(j);
    close(efd);         /* last: the fd number is free for reuse after this */
}

/* Loop side: let go of J. ABANDON: we no longer want the answer (deinit). */
static void
redis_client_job_release(struct redis_job *j, bool abandon)
{
    bool last;

    pthread_mutex_lock(&redis_job_lock);
    if (abandon)
        j->abandoned = true;
    last = --j->refs == 0;
    pthread_mutex_unlock(&redis_job_lock);
    if (last)
        redis_client_job_free(j);
}

/* Thread side: look up, signal the loop unless it left, let go. */
static void *
redis_client_job_run(void *arg)
{
    struct redis_job *j = arg;
    uint64_t one = 1;
    bool last;

    j->rc = j->resolve(j->host, j->addr, sizeof(j->addr), j->err,
                       sizeof(j->err));
    pthread_mutex_lock(&redis_job_lock);
    if (!j->abandoned && write(j->efd, &one, sizeof(one)) < 0) {
        /* cannot fail: a fresh eventfd counter, written once */
    }
    last = --j->refs == 0;
    pthread_mutex_unlock(&redis_job_lock);
    if (last)
        redis_client_job_free(j);
    return NULL;
}

/* Loop side: the lookup finished. Its answer is used only if we still
 * wait for it; an attempt that gave up meanwhile left it to the next one,
 * which starts a fresh lookup. */
static void
redis_client_job_done_cb(evutil_socket_t fd, short what, void *arg)
{
    struct redis_job *j = arg;
    char addr[REDIS_CLIENT_ADDR_MAX], msg[CONFIG_PATH_MAX + 200];
    int rc;

    UNUSED(fd);
    UNUSED(what);
    clock_update();
    /* the thread wrote the answer before it signalled under the lock, so
     * taking the lock orders those writes before our reads */
    pthread_mutex_lock(&redis_job_lock);
    rc = j->rc;
    memcpy(addr, j->addr, sizeof(addr));
    addr[sizeof(addr) - 1] = '\0';
    snprintf(msg, sizeof(msg), "cannot resolve %s: %s", j->host, j->err);
    pthread_mutex_unlock(&redis_job_lock);
    event_free(R.job_ev);
    R.job_ev = NULL;
    R.job = NULL;
    redis_client_job_release(j, false);

    if (R.state != REDIS_CLIENT_RESOLVING)
        return;
    if (rc != RC_OK) {
        redis_client_lost(msg, false);
        return;
    }
    redis_client_open(addr);
}

/* Start a lookup of redis_host on a new detached thread. */
static int
redis_client_job_start(void)
{
    struct redis_job *j = calloc(1, sizeof(*j));
    pthread_attr_t attr;
    pthread_t tid;
    sigset_t all, old;
    int rc;

    if (j == NULL)
        return RC_ERR;
    j->refs = 2;                        /* the loop and the thread */
    j->resolve = redis_resolver;
    snprintf(j->host, sizeof(j->host), "%s", R.cfg.redis_host);
    j->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (j->efd < 0) {
        log_errno(LOG_ERR, errno, "eventfd() failed");
        free(j);
        return RC_ERR;
    }
    R.job_ev = event_new(R.base, j->efd, EV_READ, redis_client_job_done_cb, j);
    if (R.job_ev == NULL || event_add(R.job_ev, NULL) < 0) {
        if (R.job_ev != NULL)
            event_free(R.job_ev);
        R.job_ev = NULL;
        close(j->efd);
        free(j);
        return RC_ERR;
    }
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    /* signals belong to the loop thread */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    rc = pthread_create(&tid, &attr, redis_client_job_run, j);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        log_errno(LOG_ERR, rc, "pthread_create() failed");
        event_free(R.job_ev);
        R.job_ev = NULL;
        close(j->efd);
        free(j);
        return RC_ERR;
    }
    R.job = j;
    return RC_OK;
}

/* One connect attempt: resolve the name if there is one, then open. */
static int
redis_client_connect(void)
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
    /* a lookup left over from an attempt that timed out is still ours */
    if (R.job == NULL && redis_client_job_start() != RC_OK) {
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
    if (R.job != NULL) {
        event_free(R.job_ev);
        R.job_ev = NULL;
        redis_client_job_release(R.job, true);
        R.job = NULL;
    }
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
        || (R.state != REDIS_CLIENT_RESOLVING && R.ac == NULL)) {
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
    if (R.state == REDIS_CLIENT_RESOLVING) {
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
