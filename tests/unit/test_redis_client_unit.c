/* test_redis_client_unit.c - redis_client.h: the pure helpers (host kind, retry
 * delay), the default resolver on literals, and the client on a real
 * event_base against an in-process fake Redis (PING -> +PONG) with the name
 * lookup injected: a lookup that blocks does not stall the loop, a failed
 * one answers NULL and backs off, deinit abandons one in flight, a timed
 * out one is reused by the next attempt, and a dropped working connection
 * is reconnected at once; a durable write is followed by WAIT (the fake
 * answers it :wait_acks) and a shortfall is counted. No Redis, no network.
 * SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "defs.h"
#include "log.h"
#include "redis_client.h"
#include "timer.h"

#define GUARD_MS     5000   /* safety net only: a hang becomes a failure */
#define RESOLVER_MS  5000   /* a blocked test resolver gives up after this */
#define FAKE_CONNS   8

/* Print the table line of a failing case, then fail. */
#define CASE_FAIL(line, ...)                                            \
    do {                                                                \
        print_error("case at line %d: ", (line));                       \
        print_error(__VA_ARGS__);                                       \
        print_error("\n");                                              \
        fail();                                                         \
    } while (0)

/* ---- redis_client_host_kind ---- */

struct host_case {
    int         line;
    const char *host;
    int         kind;
};

static const struct host_case host_cases[] = {
    { __LINE__, "127.0.0.1",             REDIS_CLIENT_HOST_NUMERIC },
    { __LINE__, "10.1.2.3",              REDIS_CLIENT_HOST_NUMERIC },
    { __LINE__, "::1",                   REDIS_CLIENT_HOST_NUMERIC },
    { __LINE__, "2001:db8::7",           REDIS_CLIENT_HOST_NUMERIC },
    { __LINE__, "::ffff:192.0.2.1",      REDIS_CLIENT_HOST_NUMERIC },
    { __LINE__, "localhost",             REDIS_CLIENT_HOST_NAME },
    { __LINE__, "redis.example.com",     REDIS_CLIENT_HOST_NAME },
    { __LINE__, "redis",                 REDIS_CLIENT_HOST_NAME },
    { __LINE__, "1.2.3",                 REDIS_CLIENT_HOST_NAME },  /* short */
    { __LINE__, "999.1.1.1",             REDIS_CLIENT_HOST_NAME },
    { __LINE__, "127.0.0.1 ",            REDIS_CLIENT_HOST_NAME },
    { __LINE__, "[::1]",                 REDIS_CLIENT_HOST_NAME },
    { __LINE__, "fe80::1%eth0",          REDIS_CLIENT_HOST_NAME },  /* scoped */
    { __LINE__, "",                      REDIS_CLIENT_HOST_NAME },
    { __LINE__, "unix:/tmp/redis.sock",  REDIS_CLIENT_HOST_UNIX },
    { __LINE__, "unix:",                 REDIS_CLIENT_HOST_UNIX },
    { __LINE__, "unixhost",              REDIS_CLIENT_HOST_NAME },
};

static void
test_redis_client_host_kind(void **state)
{
    (void) state;
    for (size_t i = 0; i < ARRAY_SIZE(host_cases); i++) {
        const struct host_case *t = &host_cases[i];
        int k = redis_client_host_kind(t->host);
        if (k != t->kind)
            CASE_FAIL(t->line, "'%s': kind %d, want %d", t->host, k, t->kind);
    }
}

/* ---- redis_client_retry_delay ---- */

struct retry_case {
    int     line;
    int64_t cur;
    bool    was_up;
    int64_t since_now;
    int64_t min, max;
    int64_t delay;
};

static const struct retry_case retry_cases[] = {
    /* a working connection dropped: at once (issue 8) */
    { __LINE__, 0, true, -1, 1000, 32000, 0 },
    { __LINE__, 0, true, -1, 30000, 30000, 0 },
    { __LINE__, 0, true, 1000, 1000, 32000, 0 },     /* last one MIN ago */
    { __LINE__, 0, true, 600000, 1000, 32000, 0 },
    /* ... but not twice within MIN: a flapping server backs off */
    { __LINE__, 0, true, 0, 1000, 32000, 1000 },
    { __LINE__, 0, true, 999, 1000, 32000, 1000 },
    { __LINE__, 0, true, 29999, 30000, 30000, 30000 },
    { __LINE__, 4000, true, 10, 1000, 32000, 8000 },
    /* failed attempts: MIN doubling to MAX, whatever came before */
    { __LINE__, 0, false, -1, 1000, 32000, 1000 },
    { __LINE__, 0, false, 600000, 1000, 32000, 1000 },
    { __LINE__, 1000, false, -1, 1000, 32000, 2000 },
    { __LINE__, 16000, false, -1, 1000, 32000, 32000 },
    { __LINE__, 32000, false, 5, 1000, 32000, 32000 },
    { __LINE__, 0, false, -1, 30000, 30000, 30000 },
};

static void
test_redis_client_retry_delay_table(void **state)
{
    (void) state;
    for (size_t i = 0; i < ARRAY_SIZE(retry_cases); i++) {
        const struct retry_case *t = &retry_cases[i];
        int64_t d = redis_client_retry_delay(t->cur, t->was_up, t->since_now,
                                             t->min, t->max);
        if (d != t->delay)
            CASE_FAIL(t->line, "delay(%lld, %d, %lld, %lld, %lld) = %lld, "
                      "want %lld", (long long) t->cur, t->was_up,
                      (long long) t->since_now, (long long) t->min,
                      (long long) t->max, (long long) d,
                      (long long) t->delay);
    }
}

/* What the client walks through when Redis restarts and takes a while:
 * the drop is retried at once, then the failures back off. */
static void
test_redis_client_retry_delay_after_drop(void **state)
{
    static const int64_t want[] = { 0, 1000, 2000, 4000, 8000, 8000 };
    int64_t cur = 0, d;

    (void) state;
    for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
        d = redis_client_retry_delay(cur, i == 0, -1, 1000, 8000);
        if (d != want[i]) {
            print_error("step %zu: %lld, want %lld\n", i, (long long) d,
                        (long long) want[i]);
            fail();
        }
        if (d > 0)
            cur = d;
    }
}

/* ---- redis_client_resolve (literals only: no network in unit tests) ---- */

static void
test_redis_client_resolve_literals(void **state)
{
    static const struct {
        int         line;
        const char *host, *addr;
    } cases[] = {
        { __LINE__, "127.0.0.1", "127.0.0.1" },
        { __LINE__, "192.0.2.33", "192.0.2.33" },
        { __LINE__, "::1", "::1" },
        { __LINE__, "2001:db8::7", "2001:db8::7" },
    };
    char addr[REDIS_CLIENT_ADDR_MAX], err[128];

    (void) state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        err[0] = '\0';
        if (redis_client_resolve(cases[i].host, addr, sizeof(addr), err,
                                 sizeof(err)) != RC_OK)
            CASE_FAIL(cases[i].line, "'%s': %s", cases[i].host, err);
        if (strcmp(addr, cases[i].addr) != 0)
            CASE_FAIL(cases[i].line, "'%s' -> '%s', want '%s'",
                      cases[i].host, addr, cases[i].addr);
    }
}

/* ---- The injected resolver (runs on the client's helper thread) ---- */

/* Static, never freed: a helper thread may still read it after a test. */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t  cond;
    bool            block;          /* wait for `released` before answering */
    bool            released;
    bool            gave_up;        /* waited RESOLVER_MS in vain */
    int             rc;             /* what to answer */
    char            addr[REDIS_CLIENT_ADDR_MAX];
    int             calls;
    int             returned;
    char            host[256];      /* the last host asked for */
    int             notify_fd;      /* a byte here when a lookup starts */
} RS = { .lock = PTHREAD_MUTEX_INITIALIZER,
         .cond = PTHREAD_COND_INITIALIZER, .notify_fd = -1 };

static int
test_resolver(const char *host, char *addr, size_t addrlen, char *err,
              size_t errlen)
{
    struct timespec until;
    int rc = RC_OK;
    char one = 1;

    pthread_mutex_lock(&RS.lock);
    RS.calls++;
    snprintf(RS.host, sizeof(RS.host), "%s", host);
    if (RS.notify_fd >= 0 && write(RS.notify_fd, &one, 1) != 1)
        RS.gave_up = true;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += RESOLVER_MS / 1000;
    while (RS.block && !RS.released && rc == RC_OK) {
        if (pthread_cond_timedwait(&RS.cond, &RS.lock, &until) == ETIMEDOUT)
            rc = RC_ERR;
    }
    if (rc != RC_OK) {
        RS.gave_up = true;
        snprintf(err, errlen, "test resolver was never released");
    } else if (RS.rc != RC_OK) {
        rc = RS.rc;
        snprintf(err, errlen, "no such host (test)");
    } else {
        snprintf(addr, addrlen, "%s", RS.addr);
    }
    RS.returned++;
    pthread_mutex_unlock(&RS.lock);
    return rc;
}

/* Lookups from now on wait for resolver_release() (or give up). */
static void
resolver_block(void)
{
    pthread_mutex_lock(&RS.lock);
    RS.block = true;
    pthread_mutex_unlock(&RS.lock);
}

static void
resolver_release(void)
{
    pthread_mutex_lock(&RS.lock);
    RS.released = true;
    pthread_cond_broadcast(&RS.cond);
    pthread_mutex_unlock(&RS.lock);
}

static int
resolver_get(const int *field)
{
    int v;

    pthread_mutex_lock(&RS.lock);
    v = *field;
    pthread_mutex_unlock(&RS.lock);
    return v;
}

/* ---- A fake Redis in the same loop: every command gets +PONG ---- */
/* (but WAIT, which gets :wait_acks) */

struct fake_redis;

struct fake_conn {
    struct fake_redis *fr;
    int           fd;               /* -1: free slot */
    struct event *ev;
    char          buf[4096];
    size_t        len;
};

struct fake_redis {
    int              lfd;
    int              port;
    struct event    *lev;
    struct fake_conn conns[FAKE_CONNS];
    int              accepted;
    int              commands;
    int              waits;             /* WAIT commands seen */
    int              wait_acks;         /* WAIT's answer */
};

/* Length of the first complete RESP array command in B, or 0. */
static size_t
resp_command_len(const char *b, size_t n)
{
    const char *p = b, *end = b + n, *nl;
    long argc, len;

    if (n == 0 || *p != '*' || (nl = memchr(p, '\n', n)) == NULL)
        return 0;
    argc = strtol(p + 1, NULL, 10);
    p = nl + 1;
    for (long i = 0; i < argc; i++) {
        if (p >= end || *p != '$'
            || (nl = memchr(p, '\n', (size_t) (end - p))) == NULL)
            return 0;
        len = strtol(p + 1, NULL, 10);
        p = nl + 1;
        if (end - p < len + 2)
            return 0;
        p += len + 2;
    }
    return (size_t) (p - b);
}

static void
fake_close(struct fake_conn *c)
{
    if (c->fd < 0)
        return;
    event_free(c->ev);
    close(c->fd);
    c->fd = -1;
    c->len = 0;
}

static void
fake_read_cb(evutil_socket_t fd, short what, void *arg)
{
    struct fake_conn *c = arg;
    ssize_t n;
    size_t used;

    UNUSED(what);
    n = recv(fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
    if (n <= 0) {
        if (n == 0 || (errno != EAGAIN && errno != EINTR))
            fake_close(c);
        return;
    }
    c->len += (size_t) n;
    while ((used = resp_command_len(c->buf, c->len)) > 0) {
        char out[32] = "+PONG\r\n";
        size_t len;

        if (memmem(c->buf, used, "$4\r\nWAIT\r\n", 10) != NULL) {
            c->fr->waits++;
            snprintf(out, sizeof(out), ":%d\r\n", c->fr->wait_acks);
        }
        len = strlen(out);
        if (send(fd, out, len, MSG_NOSIGNAL) != (ssize_t) len) {
            fake_close(c);
            return;
        }
        memmove(c->buf, c->buf + used, c->len - used);
        c->len -= used;
    }
}

static void
fake_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
    struct fake_redis *fr = arg;
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

    UNUSED(what);
    if (fd < 0)
        return;
    for (int i = 0; i < FAKE_CONNS; i++) {
        struct fake_conn *c = &fr->conns[i];
        if (c->fd >= 0)
            continue;
        c->fr = fr;
        c->fd = fd;
        c->len = 0;
        c->ev = event_new(event_get_base(fr->lev), fd, EV_READ | EV_PERSIST,
                          fake_read_cb, c);
        event_add(c->ev, NULL);
        fr->accepted++;
        return;
    }
    close(fd);
}

static int
fake_start(struct fake_redis *fr, struct event_base *base)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);

    memset(fr, 0, sizeof(*fr));
    for (int i = 0; i < FAKE_CONNS; i++)
        fr->conns[i].fd = -1;
    fr->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fr->lfd < 0 || bind(fr->lfd, (struct sockaddr *) &sa, sizeof(sa)) < 0
        || listen(fr->lfd, 16) < 0
        || getsockname(fr->lfd, (struct sockaddr *) &sa, &len) < 0)
        return -1;
    fr->port = ntohs(sa.sin_port);
    fr->lev = event_new(base, fr->lfd, EV_READ | EV_PERSIST, fake_accept_cb,
                        fr);
    return fr->lev != NULL && event_add(fr->lev, NULL) == 0 ? 0 : -1;
}

/* Hang up on every client, as CLIENT KILL does. */
static int
fake_kill_all(struct fake_redis *fr)
{
    int n = 0;

    for (int i = 0; i < FAKE_CONNS; i++) {
        if (fr->conns[i].fd >= 0) {
            fake_close(&fr->conns[i]);
            n++;
        }
    }
    return n;
}

static void
fake_stop(struct fake_redis *fr)
{
    fake_kill_all(fr);
    if (fr->lev != NULL)
        event_free(fr->lev);
    if (fr->lfd >= 0)
        close(fr->lfd);
}

/* ---- Fixture: a base, the timer heap, the fake, the client's config ---- */

struct answer {
    int  calls;
    bool null;                  /* the last answer was NULL */
    int  type;
    char str[32];
};

struct fx {
    struct event_base *base;
    struct event      *guard;
    struct event      *notify_ev;   /* resolver started: a byte on sv[0] */
    struct event      *watch;       /* WATCH_MS poller, when a test wants it */
    int                sv[2];
    bool               timed_out;
    bool               inited;
    struct fake_redis  fake;
    struct config      cfg;

    /* what the loop saw while a lookup was blocked */
    bool               release_from_loop;
    int                lookups_seen;
    int                answered_then;   /* answers given by then */
    struct answer     *watched;

    /* the poller: down -> up transitions, pings while up */
    bool               was_down;
    int                ups;
    bool               pinging, ping_out;
    int                pongs;
    struct answer      ping;
};

static void
answer_cb(const struct redis_client_reply *r, void *arg)
{
    struct answer *a = arg;

    a->calls++;
    a->null = r == NULL;
    a->type = r != NULL ? r->type : -1;
    a->str[0] = '\0';
    if (r != NULL && r->str != NULL)
        snprintf(a->str, sizeof(a->str), "%.*s", (int) r->len, r->str);
}

static void
guard_cb(evutil_socket_t fd, short what, void *arg)
{
    struct fx *f = arg;

    UNUSED(fd);
    UNUSED(what);
    f->timed_out = true;
}

/* The loop's side of a lookup: it stands for any other work of the worker
 * (a static file): it runs while the lookup blocks, or the test fails. */
static void
notify_cb(evutil_socket_t fd, short what, void *arg)
{
    struct fx *f = arg;
    char b;

    UNUSED(what);
    clock_update();
    while (recv(fd, &b, 1, MSG_DONTWAIT) == 1)
        f->lookups_seen++;
    f->answered_then = f->watched != NULL ? f->watched->calls : 0;
    if (f->release_from_loop)
        resolver_release();
}

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    if (f == NULL || (f->base = event_base_new()) == NULL
        || timer_init(f->base) != RC_OK
        || (f->guard = evtimer_new(f->base, guard_cb, f)) == NULL
        || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, f->sv) < 0
        || fake_start(&f->fake, f->base) != 0)
        return -1;
    f->notify_ev = event_new(f->base, f->sv[0], EV_READ | EV_PERSIST,
                             notify_cb, f);
    if (f->notify_ev == NULL || event_add(f->notify_ev, NULL) < 0)
        return -1;

    pthread_mutex_lock(&RS.lock);
    RS.block = false;
    RS.released = false;
    RS.gave_up = false;
    RS.rc = RC_OK;
    snprintf(RS.addr, sizeof(RS.addr), "127.0.0.1");
    RS.calls = RS.returned = 0;
    RS.host[0] = '\0';
    RS.notify_fd = f->sv[1];
    pthread_mutex_unlock(&RS.lock);
    redis_client_set_resolver(test_resolver);

    config_defaults(&f->cfg);
    snprintf(f->cfg.redis_host, sizeof(f->cfg.redis_host), "redis.test");
    f->cfg.redis_port = f->fake.port;
    f->cfg.redis_timeout = 5000;
    f->cfg.redis_reconnect_min = 30000;
    f->cfg.redis_reconnect_max = 30000;
    log_set_level(LOG_WARN);
    clock_update();
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;

    if (f->inited)
        redis_client_deinit();
    resolver_release();         /* no helper thread waits past the test */
    redis_client_set_resolver(NULL);
    pthread_mutex_lock(&RS.lock);
    RS.notify_fd = -1;
    pthread_mutex_unlock(&RS.lock);
    if (f->watch != NULL)
        event_free(f->watch);
    event_free(f->notify_ev);
    event_free(f->guard);
    fake_stop(&f->fake);
    timer_deinit();
    event_base_free(f->base);
    close(f->sv[0]);
    close(f->sv[1]);
    free(f);
    return 0;
}

static void
client_start(struct fx *f)
{
    assert_int_equal(redis_client_init(f->base, &f->cfg), RC_OK);
    f->inited = true;
}

static int
ping(struct answer *a)
{
    static const char *argv[] = { "PING" };

    clock_update();
    return redis_client_command(answer_cb, a, 1, argv, NULL);
}

/* Run the loop until COND holds; the guard only turns a hang into a
 * failure, it is no time limit on the behaviour. */
#define RUN_UNTIL(f, cond)                                                \
    do {                                                                  \
        struct timeval guard_tv_ = { GUARD_MS / 1000,                     \
                                     (GUARD_MS % 1000) * 1000 };          \
        (f)->timed_out = false;                                           \
        evtimer_add((f)->guard, &guard_tv_);                              \
        while (!(cond) && !(f)->timed_out)                                \
            event_base_loop((f)->base, EVLOOP_ONCE);                      \
        evtimer_del((f)->guard);                                          \
        if (!(cond))                                                      \
            fail_msg("line %d: '%s' still false after the %d ms safety "  \
                     "net", __LINE__, #cond, GUARD_MS);                   \
    } while (0)

static void
assert_pong(const struct answer *a, int line)
{
    if (a->null || a->type != REDIS_CLIENT_STATUS || strcmp(a->str, "PONG"))
        fail_msg("line %d: answer null %d type %d '%s', want +PONG", line,
                 a->null, a->type, a->str);
}

/* ---- The client with injected lookups ---- */

/* Issue 8: a lookup that blocks leaves the loop running, and commands
 * accepted meanwhile go out, in order, once it answers. */
static void
test_redis_client_slow_lookup_does_not_stall_loop(void **state)
{
    struct fx *f = *state;
    struct answer a1 = { 0 }, a2 = { 0 };

    resolver_block();
    f->release_from_loop = true;
    f->watched = &a1;
    client_start(f);

    assert_int_equal(ping(&a1), RC_OK);
    assert_int_equal(a1.calls, 0);          /* never from inside command() */
    assert_false(redis_client_down());
    assert_int_equal(ping(&a2), RC_OK);
    RUN_UNTIL(f, a2.calls == 1);

    /* the loop ran while the lookup was blocked, before any answer */
    assert_int_equal(f->lookups_seen, 1);
    assert_int_equal(f->answered_then, 0);
    assert_false(RS.gave_up);
    assert_int_equal(resolver_get(&RS.calls), 1);
    assert_string_equal(RS.host, "redis.test");
    assert_int_equal(a1.calls, 1);
    assert_pong(&a1, __LINE__);
    assert_pong(&a2, __LINE__);
    assert_int_equal(f->fake.accepted, 1);
}

/* A name that does not resolve is a failed attempt: waiting commands get
 * NULL, the client backs off, new commands fail at once. */
static void
test_redis_client_lookup_failure_backs_off(void **state)
{
    struct fx *f = *state;
    struct answer a = { 0 }, b = { 0 };

    pthread_mutex_lock(&RS.lock);
    RS.rc = RC_ERR;
    pthread_mutex_unlock(&RS.lock);
    client_start(f);
    assert_int_equal(ping(&a), RC_OK);
    RUN_UNTIL(f, a.calls == 1);
    assert_true(a.null);
    assert_true(redis_client_down());
    assert_int_equal(ping(&b), RC_ERR);
    assert_int_equal(b.calls, 0);
    assert_int_equal(f->fake.accepted, 0);
}

static int
count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;

    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* Deinit while a lookup blocks: the command gets NULL at once, deinit does
 * not wait, and the thread, released later, frees the job and closes its
 * eventfd (a sanitizer build checks the rest). */
static void
test_redis_client_deinit_abandons_lookup(void **state)
{
    struct fx *f = *state;
    struct answer a = { 0 };
    int fds = count_fds();
    int64_t until;

    resolver_block();
    client_start(f);
    assert_int_equal(ping(&a), RC_OK);
    RUN_UNTIL(f, f->lookups_seen == 1);
    assert_int_equal(count_fds(), fds + 1);     /* the job's eventfd */

    redis_client_deinit();
    f->inited = false;
    assert_int_equal(a.calls, 1);
    assert_true(a.null);
    assert_int_equal(resolver_get(&RS.returned), 0);

    resolver_release();
    until = (int64_t) clock_update() + GUARD_MS;
    while (count_fds() != fds && (int64_t) clock_update() < until)
        usleep(1000);
    assert_int_equal(count_fds(), fds);
    assert_int_equal(resolver_get(&RS.returned), 1);
    event_base_loop(f->base, EVLOOP_NONBLOCK);
    assert_int_equal(a.calls, 1);
    assert_int_equal(f->fake.accepted, 0);
}

static void
watch_cb(evutil_socket_t fd, short what, void *arg)
{
    struct fx *f = arg;
    bool down = redis_client_down();

    UNUSED(fd);
    UNUSED(what);
    clock_update();
    if (f->was_down && !down)
        f->ups++;
    f->was_down = down;
    if (f->pinging && !down && !f->ping_out && ping(&f->ping) == RC_OK)
        f->ping_out = true;
    if (f->ping_out && f->ping.calls > 0) {
        f->ping_out = false;
        if (!f->ping.null)
            f->pongs++;
        f->ping.calls = 0;
    }
}

static void
watch_start(struct fx *f)
{
    struct timeval tv = { 0, 1000 };

    f->watch = event_new(f->base, -1, EV_PERSIST, watch_cb, f);
    assert_non_null(f->watch);
    assert_int_equal(event_add(f->watch, &tv), 0);
}

/* An attempt that times out while the lookup blocks fails like any other;
 * the attempts after it wait for the same lookup instead of starting more
 * threads, and its answer, once it comes, gets the client connected. */
static void
test_redis_client_timed_out_lookup_is_reused(void **state)
{
    struct fx *f = *state;
    struct answer a = { 0 };

    resolver_block();
    f->cfg.redis_timeout = 100;
    f->cfg.redis_reconnect_min = 20;
    f->cfg.redis_reconnect_max = 20;
    client_start(f);
    assert_int_equal(ping(&a), RC_OK);
    RUN_UNTIL(f, a.calls == 1);
    assert_true(a.null);                    /* redis_timeout passed */
    assert_true(redis_client_down());

    f->was_down = true;
    watch_start(f);
    RUN_UNTIL(f, f->ups >= 2);              /* two more attempts ... */
    assert_int_equal(resolver_get(&RS.calls), 1);   /* ... one lookup */
    assert_int_equal(resolver_get(&RS.returned), 0);

    resolver_release();
    f->pinging = true;
    RUN_UNTIL(f, f->pongs >= 1);
    assert_false(RS.gave_up);
    assert_true(f->fake.accepted >= 1);
}

/* Issue 8: a working connection that Redis closes (CLIENT KILL, restart)
 * is reconnected at once, not after redis_reconnect_min (30 s here). */
static void
test_redis_client_reconnects_at_once_after_drop(void **state)
{
    struct fx *f = *state;
    struct answer a = { 0 }, b = { 0 };

    snprintf(f->cfg.redis_host, sizeof(f->cfg.redis_host), "127.0.0.1");
    client_start(f);
    assert_int_equal(ping(&a), RC_OK);
    RUN_UNTIL(f, a.calls == 1);
    assert_pong(&a, __LINE__);
    assert_int_equal(f->fake.accepted, 1);

    assert_int_equal(fake_kill_all(&f->fake), 1);
    RUN_UNTIL(f, f->fake.accepted == 2);
    RUN_UNTIL(f, !redis_client_down());
    assert_int_equal(ping(&b), RC_OK);
    RUN_UNTIL(f, b.calls == 1);
    assert_pong(&b, __LINE__);
    assert_int_equal(resolver_get(&RS.calls), 0);   /* a literal */
}

/* The same with a name: every reconnect looks the name up again. */
static void
test_redis_client_reconnect_resolves_again(void **state)
{
    struct fx *f = *state;
    struct answer a = { 0 }, b = { 0 };

    client_start(f);
    assert_int_equal(ping(&a), RC_OK);
    RUN_UNTIL(f, a.calls == 1);
    assert_pong(&a, __LINE__);
    assert_int_equal(resolver_get(&RS.calls), 1);

    assert_int_equal(fake_kill_all(&f->fake), 1);
    RUN_UNTIL(f, f->fake.accepted == 2);
    assert_int_equal(resolver_get(&RS.calls), 2);
    RUN_UNTIL(f, !redis_client_down());
    assert_int_equal(ping(&b), RC_OK);
    RUN_UNTIL(f, b.calls == 1);
    assert_pong(&b, __LINE__);
}

/* ---- Durable writes ---- */

/* A write with redis_wait_replicas = 2: WAIT 2 follows it, the caller gets
 * the write's reply (not WAIT's), once, after WAIT answered; 1 of 2 is a
 * shortfall, counted; 2 of 2 is not. */
static void
test_redis_client_durable_waits(void **state)
{
    struct fx *f = *state;
    static const char *argv[] = { "SET", "k", "v" };
    struct answer a = { 0 }, b = { 0 };

    snprintf(f->cfg.redis_host, sizeof(f->cfg.redis_host), "127.0.0.1");
    f->cfg.redis_wait_replicas = 2;
    client_start(f);
    f->fake.wait_acks = 1;
    clock_update();
    assert_int_equal(redis_client_command_durable(answer_cb, &a, 3, argv,
                                                  NULL), RC_OK);
    RUN_UNTIL(f, a.calls == 1);
    assert_pong(&a, __LINE__);          /* the write's reply */
    assert_int_equal(f->fake.waits, 1);
    assert_int_equal(redis_client_wait_short(), 1);

    f->fake.wait_acks = 2;
    assert_int_equal(redis_client_command_durable(answer_cb, &b, 3, argv,
                                                  NULL), RC_OK);
    RUN_UNTIL(f, b.calls == 1);
    assert_pong(&b, __LINE__);
    assert_int_equal(f->fake.waits, 2);
    assert_int_equal(redis_client_wait_short(), 1);
    assert_int_equal(a.calls, 1);
}

/* redis_wait_replicas = 0: a durable write is a plain command, no WAIT. */
static void
test_redis_client_durable_off(void **state)
{
    struct fx *f = *state;
    static const char *argv[] = { "SET", "k", "v" };
    struct answer a = { 0 }, b = { 0 };

    snprintf(f->cfg.redis_host, sizeof(f->cfg.redis_host), "127.0.0.1");
    client_start(f);
    clock_update();
    assert_int_equal(redis_client_command_durable(answer_cb, &a, 3, argv,
                                                  NULL), RC_OK);
    RUN_UNTIL(f, a.calls == 1);
    assert_pong(&a, __LINE__);
    assert_int_equal(ping(&b), RC_OK);  /* after it, in order */
    RUN_UNTIL(f, b.calls == 1);
    assert_int_equal(f->fake.waits, 0);
    assert_int_equal(redis_client_wait_short(), 0);
}

/* The connection breaks before the write is answered: the caller gets
 * NULL once (503), and nothing is counted as a shortfall. */
static void
test_redis_client_durable_lost(void **state)
{
    struct fx *f = *state;
    static const char *argv[] = { "SET", "k", "v" };
    struct answer a = { 0 }, b = { 0 };

    snprintf(f->cfg.redis_host, sizeof(f->cfg.redis_host), "127.0.0.1");
    f->cfg.redis_wait_replicas = 1;
    client_start(f);
    assert_int_equal(ping(&b), RC_OK);
    RUN_UNTIL(f, b.calls == 1);
    event_del(f->fake.lev);             /* no reconnect gets through */
    assert_int_equal(redis_client_command_durable(answer_cb, &a, 3, argv,
                                                  NULL), RC_OK);
    assert_int_equal(fake_kill_all(&f->fake), 1);
    RUN_UNTIL(f, a.calls == 1);
    assert_true(a.null);
    assert_int_equal(redis_client_wait_short(), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redis_client_host_kind),
        cmocka_unit_test(test_redis_client_retry_delay_table),
        cmocka_unit_test(test_redis_client_retry_delay_after_drop),
        cmocka_unit_test(test_redis_client_resolve_literals),
        cmocka_unit_test_setup_teardown(
            test_redis_client_slow_lookup_does_not_stall_loop, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_redis_client_lookup_failure_backs_off, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_redis_client_deinit_abandons_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_redis_client_timed_out_lookup_is_reused, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_redis_client_reconnects_at_once_after_drop, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_redis_client_reconnect_resolves_again, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_redis_client_durable_waits, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_redis_client_durable_off, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_redis_client_durable_lost, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
