/* test_conn.c - conn.h state machine driven in-process over a socketpair.
 * SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "conn.h"
#include "conn_pool.h"
#include "file_cache.h"
#include "defs.h"
#include "log.h"
#include "mpool.h"
#include "timer.h"
#include "worker.h"
#include "worker_ctx.h"

#define POOL_N      4
#define SAFETY_MS   2000        /* a hang becomes a failure; not a threshold */
#define MAX_RESP    32
#define BIG_SIZE    (3 * 512 * 1024 + 123)  /* > one write budget (1 MiB) */

static const char A_TXT[] = "hello, world\n";
static const char B_TXT[] = "second file\n";
static const char INDEX[] = "<p>root index</p>\n";
static const char SUB_INDEX[] = "<p>sub index</p>\n";

/* One parsed response: offsets into fx.in (which may move). */
struct resp {
    int    status;
    size_t head_off, head_len;      /* head_len includes the empty line */
    size_t body_off, body_len;
};

struct fx {
    char        top[256];           /* document root (mkdtemp) */
    int         client;             /* our end of the socketpair */
    char       *in;                 /* everything received so far */
    size_t      in_len, in_cap;
    bool        eof;
    uint32_t    head_mask;          /* bit i: response i answers a HEAD */
    int         nresp;
    struct resp r[MAX_RESP];
    char        val[4096];          /* last header value looked up */
};

/* ---- Files ---- */

static unsigned char
big_byte(size_t i)
{
    return (unsigned char) ((i * 7 + i / 251) & 0xff);
}

static void
put_file(const char *top, const char *rel, const void *data, size_t len)
{
    char p[PATH_MAX];
    int fd;

    snprintf(p, sizeof(p), "%s/%s", top, rel);
    fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    for (size_t off = 0; off < len;) {
        ssize_t n = write(fd, (const char *) data + off, len - off);
        assert_true(n > 0);
        off += (size_t) n;
    }
    close(fd);
}

static void
make_tree(const char *top)
{
    char p[PATH_MAX];
    unsigned char *big = malloc(BIG_SIZE);

    assert_non_null(big);
    for (size_t i = 0; i < BIG_SIZE; i++)
        big[i] = big_byte(i);
    put_file(top, "a.txt", A_TXT, strlen(A_TXT));
    put_file(top, "b.txt", B_TXT, strlen(B_TXT));
    put_file(top, "index.html", INDEX, strlen(INDEX));
    put_file(top, "empty.txt", "", 0);
    put_file(top, ".hidden", "hidden\n", 7);
    put_file(top, "big.bin", big, BIG_SIZE);
    free(big);
    snprintf(p, sizeof(p), "%s/sub", top);
    assert_int_equal(mkdir(p, 0755), 0);
    put_file(top, "sub/index.html", SUB_INDEX, strlen(SUB_INDEX));
    snprintf(p, sizeof(p), "%s/noindex", top);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof(p), "%s/out.txt", top);
    assert_int_equal(symlink("/etc/hostname", p), 0);
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    UNUSED(st);
    UNUSED(flag);
    UNUSED(ftw);
    return remove(path);
}

/* ---- Worker context, as worker_main() sets it up ---- */

static void
load_cb(evutil_socket_t fd, short what, void *arg)
{
    UNUSED(fd);
    UNUSED(what);
    UNUSED(arg);
    wctx.load_armed = false;    /* no master here: nothing to report to */
}

static int
setup_fx(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return -1;
    snprintf(f->top, sizeof(f->top), "/tmp/test_conn.XXXXXX");
    if (mkdtemp(f->top) == NULL)
        return -1;
    make_tree(f->top);
    f->client = -1;

    memset(&wctx, 0, sizeof(wctx));
    config_defaults(&wctx.cfg);
    snprintf(wctx.cfg.root, sizeof(wctx.cfg.root), "%s", f->top);
    wctx.cfg.max_connections = POOL_N;
    wctx.id = 1;
    wctx.chan_fd = -1;
    clock_update();

    wctx.root_fd = open(wctx.cfg.root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    wctx.base = event_base_new();
    wctx.pool = mpool_create(0);
    wctx.scratch_len = wctx.cfg.max_request_header + 256;
    wctx.scratch = malloc(WORKER_SCRATCH_AREAS * wctx.scratch_len);
    if (wctx.root_fd < 0 || wctx.base == NULL || wctx.pool == NULL
        || wctx.scratch == NULL || timer_init(wctx.base) != RC_OK
        || conn_pool_init((size_t) wctx.cfg.max_connections) != RC_OK
        || conn_events_init(wctx.base) != RC_OK)
        return -1;
    worker_wire();      /* the router and close hook, as worker_main() */
    wctx.load_ev = evtimer_new(wctx.base, load_cb, NULL);
    if (wctx.load_ev == NULL)
        return -1;
    *state = f;
    return 0;
}

static int
teardown_fx(void **state)
{
    struct fx *f = *state;
    struct mpool_stats st;

    conn_close_all();
    if (f->client >= 0)
        close(f->client);
    assert_int_equal(conn_pool_in_use(), 0);
    assert_int_equal(wctx.active, 0);
    event_free(wctx.load_ev);
    timer_deinit();
    conn_events_deinit();
    conn_pool_deinit();
    event_base_free(wctx.base);
    /* every conn buffer went back to the pool */
    mpool_get_stats(wctx.pool, &st);
    assert_int_equal(st.bytes_in_use, 0);
    mpool_destroy(wctx.pool);
    free(wctx.scratch);
    file_cache_clear();
    close(wctx.root_fd);
    nftw(f->top, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f->in);
    free(f);
    return 0;
}

/* ---- Client side ---- */

/* A new connection: the server end goes to conn_open(). */
static int
connect_conn(void)
{
    int sv[2];

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK
                                | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(conn_open(sv[0]), RC_OK);
    return sv[1];
}

static void
open_client(struct fx *f)
{
    f->client = connect_conn();
}

static void
send_str(int fd, const char *s)
{
    size_t len = strlen(s);
    ssize_t n = send(fd, s, len, MSG_NOSIGNAL);

    assert_int_equal(n, (ssize_t) len);
}

/* Read what is there. Returns the bytes read. */
static size_t
drain(struct fx *f)
{
    size_t got = 0;

    if (f->client < 0 || f->eof)
        return 0;
    for (;;) {
        ssize_t n;

        if (f->in_cap - f->in_len < 65536) {
            f->in_cap = f->in_cap * 2 + 65536;
            f->in = realloc(f->in, f->in_cap + 1);
            assert_non_null(f->in);
        }
        n = read(f->client, f->in + f->in_len, f->in_cap - f->in_len);
        if (n > 0) {
            f->in_len += (size_t) n;
            got += (size_t) n;
            continue;
        }
        if (n == 0) {
            f->eof = true;
            return got;
        }
        if (errno == EINTR)
            continue;
        assert_true(errno == EAGAIN || errno == EWOULDBLOCK
                    || errno == ECONNRESET);
        return got;
    }
}

/* memmem() without the builtin's -Wnonnull false positive under
 * -fsanitize (GCC 12). */
static const char *
find(const char *h, size_t hl, const char *n, size_t nl)
{
    for (size_t i = 0; i + nl <= hl; i++) {
        if (memcmp(h + i, n, nl) == 0)
            return h + i;
    }
    return NULL;
}

/* Split f->in into responses. */
static void
parse(struct fx *f)
{
    size_t pos = 0;

    f->nresp = 0;
    if (f->in == NULL)
        return;
    while (f->nresp < MAX_RESP && pos < f->in_len) {
        struct resp *r = &f->r[f->nresp];
        const char *s = f->in + pos, *end, *cl;
        size_t avail = f->in_len - pos, hl;
        bool head = (f->head_mask >> f->nresp) & 1;

        f->in[f->in_len] = '\0';
        end = find(s, avail, "\r\n\r\n", 4);
        if (end == NULL)
            return;
        hl = (size_t) (end - s) + 4;
        if (strncmp(s, "HTTP/1.1 ", 9) != 0)
            fail_msg("response %d does not start with HTTP/1.1: %.40s",
                     f->nresp, s);
        r->status = atoi(s + 9);
        r->head_off = pos;
        r->head_len = hl;
        r->body_off = pos + hl;
        r->body_len = 0;
        cl = find(s, hl, "\r\nContent-Length: ", 18);
        if (!head && r->status != 304 && r->status != 204 && cl != NULL)
            r->body_len = strtoul(cl + 18, NULL, 10);
        if (avail < hl + r->body_len)
            return;
        pos += hl + r->body_len;
        f->nresp++;
    }
}

/* The value of header NAME in response I, or NULL. */
static const char *
hdr(struct fx *f, int i, const char *name)
{
    const struct resp *r = &f->r[i];
    const char *head = f->in + r->head_off, *p, *e;
    char key[128];
    int kl = snprintf(key, sizeof(key), "\r\n%s: ", name);

    p = find(head, r->head_len, key, (size_t) kl);
    if (p == NULL)
        return NULL;
    p += kl;
    e = find(p, r->head_len - (size_t) (p - head), "\r\n", 2);
    assert_non_null(e);
    snprintf(f->val, sizeof(f->val), "%.*s", (int) (e - p), p);
    return f->val;
}

static int
hdr_count(struct fx *f, int i, const char *name)
{
    const struct resp *r = &f->r[i];
    const char *head = f->in + r->head_off, *p = head;
    char key[128];
    int kl = snprintf(key, sizeof(key), "\r\n%s:", name), n = 0;

    while ((p = find(p, r->head_len - (size_t) (p - head), key,
                     (size_t) kl)) != NULL) {
        n++;
        p += kl;
    }
    return n;
}

static void
expect_body(struct fx *f, int i, const void *data, size_t len)
{
    const struct resp *r = &f->r[i];

    if (r->body_len != len || memcmp(f->in + r->body_off, data, len) != 0)
        fail_msg("response %d: body of %zu bytes, expected %zu:\n%.*s", i,
                 r->body_len, len, (int) (r->body_len < 200 ? r->body_len : 200),
                 f->in + r->body_off);
}

typedef bool (*pump_done)(struct fx *f, long arg);

static uint64_t
mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

/* Alternate client reads and non-blocking loop turns until DONE holds. */
static void
pump(struct fx *f, pump_done done, long arg, const char *what)
{
    uint64_t limit = mono_ms() + SAFETY_MS;

    for (;;) {
        size_t got = drain(f);
        int nev;

        parse(f);
        if (done(f, arg))
            return;
        if (mono_ms() > limit)
            fail_msg("gave up waiting for %s (%d responses, %zu bytes, eof %d, "
                     "state %s)", what, f->nresp, f->in_len, f->eof,
                     conn_pool_at(0) != NULL
                     ? conn_state_name[conn_pool_at(0)->state] : "-");
        nev = event_base_loop(wctx.base, EVLOOP_NONBLOCK);
        UNUSED(nev);
        if (got == 0 && f->client >= 0 && !f->eof) {
            /* nothing new: wait a little for the server or its timers */
            struct pollfd pfd = { f->client, POLLIN, 0 };
            poll(&pfd, 1, 1);
        }
    }
}

static bool
have_responses(struct fx *f, long n)
{
    return f->nresp >= n;
}

static bool
have_eof(struct fx *f, long unused)
{
    UNUSED(unused);
    return f->eof;
}

static bool
pool_in_use_is(struct fx *f, long n)
{
    UNUSED(f);
    return conn_pool_in_use() == (size_t) n;
}

static void
wait_responses(struct fx *f, int n)
{
    pump(f, have_responses, n, "responses");
    assert_int_equal(f->nresp, n);
}

/* The one conn of a single-client test. */
static struct conn *
the_conn(void)
{
    struct conn *c = conn_pool_at(0);

    assert_non_null(c);
    assert_true(c->in_use);
    return c;
}

/* Idle between requests: KEEPALIVE, no buffers, no file, timer armed. */
static void
expect_idle(uint32_t nreqs)
{
    struct conn *c = the_conn();
    struct mpool_stats st;

    if (c->state != CONN_KEEPALIVE || c->rbuf.cap != 0)
        fail_msg("after %u responses with nothing more to read: state %s, "
                 "rbuf.cap %zu, timer in %lld ms (keepalive_timeout %lld, "
                 "header_timeout %lld); expected KEEPALIVE holding no read "
                 "buffer", nreqs, conn_state_name[c->state], c->rbuf.cap,
                 (long long) (c->timer.deadline - clock_now()),
                 (long long) wctx.cfg.keepalive_timeout,
                 (long long) wctx.cfg.header_timeout);
    assert_null(c->rbuf.data);
    assert_null(c->rq);             /* no request state while idle */
    assert_int_equal(c->nreqs, nreqs);
    assert_true(timer_pending(&c->timer));
    mpool_get_stats(wctx.pool, &st);
    assert_int_equal(st.bytes_in_use, 0);
}

#define GET(path) "GET " path " HTTP/1.1\r\nHost: t\r\n\r\n"

/* ---- Tests ---- */

static void
test_conn_get_file(void **state)
{
    struct fx *f = *state;
    char len[16];

    open_client(f);
    assert_int_equal(conn_pool_in_use(), 1);
    assert_int_equal(wctx.active, 1);
    send_str(f->client, GET("/a.txt"));
    wait_responses(f, 1);
    assert_int_equal(f->r[0].status, 200);
    expect_body(f, 0, A_TXT, strlen(A_TXT));
    assert_string_equal(hdr(f, 0, "Content-Type"), "text/plain; charset=utf-8");
    snprintf(len, sizeof(len), "%zu", strlen(A_TXT));
    assert_string_equal(hdr(f, 0, "Content-Length"), len);
    assert_non_null(hdr(f, 0, "ETag"));
    assert_non_null(hdr(f, 0, "Last-Modified"));
    assert_non_null(hdr(f, 0, "Date"));
    assert_string_equal(hdr(f, 0, "Accept-Ranges"), "bytes");
    assert_null(hdr(f, 0, "Connection"));       /* 1.1: keep-alive implied */
    assert_int_equal(f->in_len, f->r[0].head_len + f->r[0].body_len);
    assert_false(f->eof);
    expect_idle(1);
}

static void
test_conn_get_empty_file(void **state)
{
    struct fx *f = *state;

    open_client(f);
    send_str(f->client, GET("/empty.txt") GET("/a.txt"));
    wait_responses(f, 2);
    assert_int_equal(f->r[0].status, 200);
    assert_string_equal(hdr(f, 0, "Content-Length"), "0");
    expect_body(f, 0, "", 0);
    expect_body(f, 1, A_TXT, strlen(A_TXT));
    expect_idle(2);
}

static void
test_conn_pipelined(void **state)
{
    struct fx *f = *state;

    open_client(f);
    send_str(f->client, GET("/a.txt") GET("/b.txt") GET("/missing.txt")
                        GET("/a.txt"));
    wait_responses(f, 4);
    assert_int_equal(f->r[0].status, 200);
    expect_body(f, 0, A_TXT, strlen(A_TXT));
    assert_int_equal(f->r[1].status, 200);
    expect_body(f, 1, B_TXT, strlen(B_TXT));
    assert_int_equal(f->r[2].status, 404);
    assert_int_equal(f->r[3].status, 200);
    expect_body(f, 3, A_TXT, strlen(A_TXT));
    assert_int_equal(f->in_len, f->r[3].body_off + f->r[3].body_len);
    expect_idle(4);
}

/* More pipelined requests than one wake-up serves (16): the rest is
 * resumed through event_active(EV_READ), none is lost or reordered, and
 * once all are answered the conn is idle like any other: KEEPALIVE with
 * keepalive_timeout and no read buffer. */
static void
test_conn_pipelined_many(void **state)
{
    struct fx *f = *state;
    char req[40 * 64] = "";

    for (int i = 0; i < 20; i++)
        strcat(req, i % 2 == 0 ? GET("/a.txt") : GET("/b.txt"));
    open_client(f);
    send_str(f->client, req);
    wait_responses(f, 20);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(f->r[i].status, 200);
        if (i % 2 == 0)
            expect_body(f, i, A_TXT, strlen(A_TXT));
        else
            expect_body(f, i, B_TXT, strlen(B_TXT));
    }
    expect_idle(20);
}

/* A request arriving a byte at a time. */
static void
test_conn_split_request(void **state)
{
    struct fx *f = *state;
    const char *req = GET("/b.txt");

    open_client(f);
    for (const char *p = req; *p != '\0'; p++) {
        assert_int_equal(send(f->client, p, 1, MSG_NOSIGNAL), 1);
        event_base_loop(wctx.base, EVLOOP_NONBLOCK);
        if (p[1] != '\0') {
            assert_int_equal(drain(f), 0);      /* nothing answered early */
            assert_string_equal(conn_state_name[the_conn()->state], "READING");
        }
    }
    wait_responses(f, 1);
    assert_int_equal(f->r[0].status, 200);
    expect_body(f, 0, B_TXT, strlen(B_TXT));
    expect_idle(1);
}

/* KEEPALIVE -> READING on the next request; the buffer comes back. */
static void
test_conn_keepalive_next_request(void **state)
{
    struct fx *f = *state;

    open_client(f);
    send_str(f->client, GET("/a.txt"));
    wait_responses(f, 1);
    expect_idle(1);
    for (int i = 0; i < 3; i++)
        event_base_loop(wctx.base, EVLOOP_NONBLOCK);
    expect_idle(1);                             /* stays idle */

    send_str(f->client, GET("/b.txt"));
    wait_responses(f, 2);
    assert_int_equal(f->r[1].status, 200);
    expect_body(f, 1, B_TXT, strlen(B_TXT));
    expect_idle(2);
}

static void
test_conn_404_keeps_connection(void **state)
{
    struct fx *f = *state;
    const struct resp *r;

    open_client(f);
    send_str(f->client, GET("/missing.txt"));
    wait_responses(f, 1);
    r = &f->r[0];
    assert_int_equal(r->status, 404);
    assert_string_equal(hdr(f, 0, "Content-Type"), "text/html; charset=utf-8");
    assert_true(r->body_len > 0);
    assert_non_null(find(f->in + r->body_off, r->body_len, "404", 3));
    assert_null(hdr(f, 0, "Connection"));
    expect_idle(1);

    send_str(f->client, GET("/a.txt"));
    wait_responses(f, 2);
    assert_int_equal(f->r[1].status, 200);
    expect_body(f, 1, A_TXT, strlen(A_TXT));
}

/* 400 leaves the framing in doubt: answer, shut the write side, linger,
 * close once the client goes. */
static void
test_conn_400_closes(void **state)
{
    struct fx *f = *state;

    open_client(f);
    send_str(f->client, "GET /a.txt HTTP/1.1\r\nHost: t\r\nNo colon here\r\n\r\n"
                        GET("/b.txt"));
    wait_responses(f, 1);
    assert_int_equal(f->r[0].status, 400);
    assert_string_equal(hdr(f, 0, "Connection"), "close");
    pump(f, have_eof, 0, "EOF after 400");
    parse(f);
    assert_int_equal(f->nresp, 1);      /* the pipelined GET is not served */
    assert_int_equal(f->in_len, f->r[0].body_off + f->r[0].body_len);

    /* the client hangs up: the lingering conn is freed */
    close(f->client);
    f->client = -1;
    pump(f, pool_in_use_is, 0, "the conn to close");
    assert_int_equal(wctx.active, 0);
}

static void
test_conn_bad_requests(void **state)
{
    static const struct { int line; const char *req; int status; } cases[] = {
        { __LINE__, "GET /a.txt HTTP/1.1\r\n\r\n", 400 },          /* no Host */
        { __LINE__, "GET /../a.txt HTTP/1.1\r\nHost: t\r\n\r\n", 400 },
        { __LINE__, "GET /%zz HTTP/1.1\r\nHost: t\r\n\r\n", 400 },
        { __LINE__, "GET /a%00b HTTP/1.1\r\nHost: t\r\n\r\n", 400 },
        { __LINE__, "GET /a.txt HTTP/2.0\r\nHost: t\r\n\r\n", 505 },
        { __LINE__, "BREW /a.txt HTTP/1.1\r\nHost: t\r\n\r\n", 501 },
    };
    struct fx *f = *state;

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        f->in_len = 0;
        f->eof = false;
        open_client(f);
        send_str(f->client, cases[i].req);
        pump(f, have_eof, 0, "EOF after an error");
        parse(f);
        if (f->nresp != 1 || f->r[0].status != cases[i].status)
            fail_msg("line %d: %d responses, first status %d, expected %d",
                     cases[i].line, f->nresp, f->nresp > 0 ? f->r[0].status : 0,
                     cases[i].status);
        assert_string_equal(hdr(f, 0, "Connection"), "close");
        close(f->client);
        f->client = -1;
        pump(f, pool_in_use_is, 0, "the conn to close");
    }
}

static void
test_conn_forbidden_and_hidden(void **state)
{
    struct fx *f = *state;

    open_client(f);
    send_str(f->client, GET("/.hidden") GET("/out.txt") GET("/noindex/")
                        GET("/a.txt"));
    wait_responses(f, 4);
    assert_int_equal(f->r[0].status, 404);      /* hidden */
    assert_int_equal(f->r[1].status, 403);      /* symlink out of root */
    assert_int_equal(f->r[2].status, 403);      /* directory, no index */
    assert_int_equal(f->r[3].status, 200);      /* the conn lives on */
    expect_body(f, 3, A_TXT, strlen(A_TXT));
}

static void
test_conn_connection_close(void **state)
{
    struct fx *f = *state;

    open_client(f);
    send_str(f->client,
             "GET /a.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    pump(f, have_eof, 0, "EOF after Connection: close");
    assert_int_equal(f->nresp, 1);
    assert_int_equal(f->r[0].status, 200);
    assert_string_equal(hdr(f, 0, "Connection"), "close");
    expect_body(f, 0, A_TXT, strlen(A_TXT));
    pump(f, pool_in_use_is, 0, "the conn to close");
    assert_int_equal(wctx.active, 0);
}

static void
test_conn_http10(void **state)
{
    struct fx *f = *state;

    /* 1.0 without keep-alive: close after the response */
    open_client(f);
    send_str(f->client, "GET /a.txt HTTP/1.0\r\n\r\n");
    pump(f, have_eof, 0, "EOF after an HTTP/1.0 response");
    assert_int_equal(f->nresp, 1);
    assert_int_equal(f->r[0].status, 200);
    assert_string_equal(hdr(f, 0, "Connection"), "close");
    expect_body(f, 0, A_TXT, strlen(A_TXT));
    pump(f, pool_in_use_is, 0, "the conn to close");
    close(f->client);

    /* 1.0 asking for keep-alive gets it, said explicitly */
    f->in_len = 0;
    f->eof = false;
    open_client(f);
    send_str(f->client, "GET /b.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    wait_responses(f, 1);
    assert_int_equal(f->r[0].status, 200);
    assert_string_equal(hdr(f, 0, "Connection"), "keep-alive");
    expect_body(f, 0, B_TXT, strlen(B_TXT));
    assert_false(f->eof);
    assert_string_equal(conn_state_name[conn_pool_at(0)->state], "KEEPALIVE");
}

/* A body larger than the socket buffer and the write budget: sendfile
 * stops on EAGAIN and resumes on EV_WRITE until every byte is out. */
static void
test_conn_big_file_sendfile(void **state)
{
    struct fx *f = *state;
    unsigned char *big = malloc(BIG_SIZE);
    char len[24];

    assert_non_null(big);
    for (size_t i = 0; i < BIG_SIZE; i++)
        big[i] = big_byte(i);
    open_client(f);
    send_str(f->client, GET("/big.bin") GET("/a.txt"));
    wait_responses(f, 2);
    assert_int_equal(f->r[0].status, 200);
    snprintf(len, sizeof(len), "%d", BIG_SIZE);
    assert_string_equal(hdr(f, 0, "Content-Length"), len);
    assert_string_equal(hdr(f, 0, "Content-Type"), "application/octet-stream");
    expect_body(f, 0, big, BIG_SIZE);
    expect_body(f, 1, A_TXT, strlen(A_TXT));
    expect_idle(2);
    free(big);
}

static void
test_conn_head(void **state)
{
    struct fx *f = *state;
    char len[16];

    open_client(f);
    f->head_mask = 1u << 0 | 1u << 1;
    send_str(f->client, "HEAD /a.txt HTTP/1.1\r\nHost: t\r\n\r\n"
                        "HEAD /missing HTTP/1.1\r\nHost: t\r\n\r\n"
                        GET("/b.txt"));
    wait_responses(f, 3);
    assert_int_equal(f->r[0].status, 200);
    snprintf(len, sizeof(len), "%zu", strlen(A_TXT));
    assert_string_equal(hdr(f, 0, "Content-Length"), len);
    assert_int_equal(f->r[0].body_len, 0);
    assert_int_equal(f->r[1].status, 404);
    assert_int_equal(f->r[1].body_len, 0);
    /* no body bytes slipped in between: the GET parses right after */
    assert_int_equal(f->r[2].status, 200);
    expect_body(f, 2, B_TXT, strlen(B_TXT));
    assert_int_equal(f->in_len, f->r[2].body_off + f->r[2].body_len);
    expect_idle(3);
}

static void
test_conn_range(void **state)
{
    struct fx *f = *state;
    char total[32];

    open_client(f);
    send_str(f->client,
             "GET /a.txt HTTP/1.1\r\nHost: t\r\nRange: bytes=0-4\r\n\r\n"
             "GET /a.txt HTTP/1.1\r\nHost: t\r\nRange: bytes=-3\r\n\r\n"
             "GET /a.txt HTTP/1.1\r\nHost: t\r\nRange: bytes=7-\r\n\r\n");
    wait_responses(f, 3);
    snprintf(total, sizeof(total), "/%zu", strlen(A_TXT));

    assert_int_equal(f->r[0].status, 206);
    expect_body(f, 0, "hello", 5);
    assert_string_equal(hdr(f, 0, "Content-Length"), "5");
    assert_non_null(strstr(hdr(f, 0, "Content-Range"), "bytes 0-4/"));

    assert_int_equal(f->r[1].status, 206);
    expect_body(f, 1, "ld\n", 3);
    assert_non_null(strstr(hdr(f, 1, "Content-Range"), total));

    assert_int_equal(f->r[2].status, 206);
    expect_body(f, 2, A_TXT + 7, strlen(A_TXT) - 7);
    expect_idle(3);
}

/* An unsatisfiable range: 416 with one Content-Range giving the size
 * (RFC 9110 15.5.17). */
static void
test_conn_range_416_single_content_range(void **state)
{
    struct fx *f = *state;
    char want[32];

    open_client(f);
    send_str(f->client,
             "GET /a.txt HTTP/1.1\r\nHost: t\r\nRange: bytes=100-\r\n\r\n"
             GET("/b.txt"));
    wait_responses(f, 2);
    assert_int_equal(f->r[0].status, 416);
    assert_int_equal(f->r[1].status, 200);      /* 416 keeps the conn */
    expect_body(f, 1, B_TXT, strlen(B_TXT));
    snprintf(want, sizeof(want), "bytes */%zu", strlen(A_TXT));
    if (hdr_count(f, 0, "Content-Range") != 1)
        fail_msg("416 has %d Content-Range headers, expected one \"%s\":\n%.*s",
                 hdr_count(f, 0, "Content-Range"), want,
                 (int) f->r[0].head_len, f->in + f->r[0].head_off);
    assert_string_equal(hdr(f, 0, "Content-Range"), want);
}

static void
test_conn_conditional_304(void **state)
{
    struct fx *f = *state;
    char etag[128], req[512];

    open_client(f);
    send_str(f->client, GET("/a.txt"));
    wait_responses(f, 1);
    snprintf(etag, sizeof(etag), "%s", hdr(f, 0, "ETag"));
    snprintf(req, sizeof(req),
             "GET /a.txt HTTP/1.1\r\nHost: t\r\nIf-None-Match: %s\r\n\r\n"
             GET("/b.txt"), etag);
    send_str(f->client, req);
    wait_responses(f, 3);
    assert_int_equal(f->r[1].status, 304);
    assert_int_equal(f->r[1].body_len, 0);
    assert_string_equal(hdr(f, 1, "ETag"), etag);
    assert_int_equal(f->r[2].status, 200);
    expect_body(f, 2, B_TXT, strlen(B_TXT));
    expect_idle(3);
}

static void
test_conn_directories(void **state)
{
    struct fx *f = *state;

    open_client(f);
    send_str(f->client, GET("/") GET("/sub") GET("/sub/") GET("/sub?x=1"));
    wait_responses(f, 4);
    assert_int_equal(f->r[0].status, 200);
    expect_body(f, 0, INDEX, strlen(INDEX));
    assert_string_equal(hdr(f, 0, "Content-Type"), "text/html; charset=utf-8");
    assert_int_equal(f->r[1].status, 301);
    assert_string_equal(hdr(f, 1, "Location"), "/sub/");
    assert_int_equal(f->r[1].body_len, 0);
    assert_int_equal(f->r[2].status, 200);
    expect_body(f, 2, SUB_INDEX, strlen(SUB_INDEX));
    assert_int_equal(f->r[3].status, 301);
    assert_string_equal(hdr(f, 3, "Location"), "/sub/?x=1");
    expect_idle(4);
}

/* Request bodies are consumed exactly, so the next pipelined request
 * parses: Content-Length and chunked. */
static void
test_conn_body_framing(void **state)
{
    struct fx *f = *state;

    open_client(f);
    send_str(f->client,
             "POST /a.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello"
             GET("/b.txt")
             "POST /a.txt HTTP/1.1\r\nHost: t\r\n"
             "Transfer-Encoding: chunked\r\n\r\n"
             "5\r\nhello\r\n3;ext=1\r\nGET\r\n0\r\n\r\n"
             GET("/a.txt"));
    wait_responses(f, 4);
    assert_int_equal(f->r[0].status, 405);
    assert_string_equal(hdr(f, 0, "Allow"), "GET, HEAD, OPTIONS");
    assert_int_equal(f->r[1].status, 200);
    expect_body(f, 1, B_TXT, strlen(B_TXT));
    assert_int_equal(f->r[2].status, 405);
    assert_int_equal(f->r[3].status, 200);
    expect_body(f, 3, A_TXT, strlen(A_TXT));
    expect_idle(4);
}

/* The body arrives after the head, in pieces, to a path that takes none
 * (issue 8.3): the 405 goes out at once, on the head; the body is then
 * read and dropped, and the next request after it is served. */
static void
test_conn_body_in_pieces(void **state)
{
    struct fx *f = *state;

    open_client(f);
    send_str(f->client,
             "POST /a.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n");
    wait_responses(f, 1);
    assert_int_equal(f->r[0].status, 405);
    assert_string_equal(conn_state_name[the_conn()->state], "DISCARD");
    send_str(f->client, "01234");
    for (int i = 0; i < 3; i++)
        event_base_loop(wctx.base, EVLOOP_NONBLOCK);
    assert_int_equal(drain(f), 0);
    assert_string_equal(conn_state_name[the_conn()->state], "DISCARD");
    send_str(f->client, "56789" GET("/a.txt"));
    wait_responses(f, 2);
    assert_int_equal(f->r[0].status, 405);
    assert_int_equal(f->r[1].status, 200);
    expect_body(f, 1, A_TXT, strlen(A_TXT));
}

static void
test_conn_max_keepalive_requests(void **state)
{
    struct fx *f = *state;

    wctx.cfg.max_keepalive_requests = 2;
    open_client(f);
    send_str(f->client, GET("/a.txt") GET("/b.txt") GET("/a.txt"));
    pump(f, have_eof, 0, "EOF after the last allowed request");
    assert_int_equal(f->nresp, 2);
    assert_null(hdr(f, 0, "Connection"));
    assert_string_equal(hdr(f, 1, "Connection"), "close");
    expect_body(f, 1, B_TXT, strlen(B_TXT));
    pump(f, pool_in_use_is, 0, "the conn to close");
}

/* An idle keep-alive conn is closed when keepalive_timeout passes. */
static void
test_conn_keepalive_timeout(void **state)
{
    struct fx *f = *state;

    wctx.cfg.keepalive_timeout = 30;
    open_client(f);
    send_str(f->client, GET("/a.txt"));
    wait_responses(f, 1);
    expect_idle(1);
    pump(f, have_eof, 0, "the idle conn to time out");
    assert_int_equal(f->nresp, 1);
    assert_int_equal(conn_pool_in_use(), 0);
    assert_int_equal(wctx.active, 0);
}

/* A client that never finishes its head is closed after header_timeout. */
static void
test_conn_header_timeout(void **state)
{
    struct fx *f = *state;

    wctx.cfg.header_timeout = 30;
    open_client(f);
    send_str(f->client, "GET /a.txt HTTP/1.1\r\nHost:");
    pump(f, have_eof, 0, "the slow client to time out");
    assert_int_equal(conn_pool_in_use(), 0);
    assert_int_equal(wctx.active, 0);
}

/* The client hangs up while idle: the conn goes back to the pool. */
static void
test_conn_client_hangs_up(void **state)
{
    struct fx *f = *state;
    struct conn *c;
    struct conn_ref ref;

    open_client(f);
    send_str(f->client, GET("/a.txt"));
    wait_responses(f, 1);
    c = the_conn();
    ref = conn_pool_ref(c);
    assert_ptr_equal(conn_pool_deref(ref), c);
    close(f->client);
    f->client = -1;
    pump(f, pool_in_use_is, 0, "the conn to close");
    assert_null(conn_pool_deref(ref));
    assert_int_equal(wctx.active, 0);
    assert_int_equal(timer_count(), 0);
}

static size_t read_to_eof(int fd, char *out, size_t cap);

/* The server stops (not a reload): idle connections close at once; one in
 * the middle of a request gets its answer with "Connection: close". */
static void
test_conn_stop_closes_idle(void **state)
{
    struct fx *f = *state;
    char buf[4096];
    int mid;

    open_client(f);                 /* slot 0: idle keep-alive */
    mid = connect_conn();           /* slot 1: mid-request */
    send_str(f->client, GET("/a.txt"));
    wait_responses(f, 1);
    send_str(mid, "GET /b.txt HTTP/1.1\r\nHost: t\r\n");
    for (int i = 0; i < 5; i++)
        event_base_loop(wctx.base, EVLOOP_NONBLOCK);

    wctx.draining = true;
    conn_close_idle();
    assert_int_equal(conn_pool_in_use(), 1);
    pump(f, have_eof, 0, "EOF on the idle conn");
    assert_int_equal(f->nresp, 1);

    send_str(mid, "\r\n");
    read_to_eof(mid, buf, sizeof(buf));
    assert_non_null(strstr(buf, "HTTP/1.1 200 "));
    assert_non_null(strstr(buf, "\r\nConnection: close\r\n"));
    close(mid);
    pump(f, pool_in_use_is, 0, "the last conn to close");
}

/* issue 8.9: a request reference names one request, not the connection:
 * it stops resolving when that request is answered, even though the
 * connection goes on with the next one, so a late async reply is dropped. */
static void
test_conn_req_ref_dies_with_its_request(void **state)
{
    struct fx *f = *state;
    struct conn *c;
    void *ref;

    open_client(f);
    send_str(f->client, "GET /a.txt HTTP/1.1\r\nHost: t\r\n");
    for (int i = 0; i < 3; i++)
        event_base_loop(wctx.base, EVLOOP_NONBLOCK);
    c = the_conn();
    assert_string_equal(conn_state_name[c->state], "READING");
    ref = conn_req_ref(c);
    assert_ptr_equal(conn_req_deref(ref), c);
    send_str(f->client, "\r\n" GET("/b.txt"));
    wait_responses(f, 2);
    /* same connection, later request: the old reference is dead */
    assert_ptr_equal(the_conn(), c);
    assert_null(conn_req_deref(ref));
    send_str(f->client, "GET /a.txt HTTP/1.1\r\nHost: t\r\n");
    for (int i = 0; i < 3; i++)
        event_base_loop(wctx.base, EVLOOP_NONBLOCK);
    assert_null(conn_req_deref(ref));
    assert_non_null(conn_req_deref(conn_req_ref(c)));
}

/* Whole file PATH, NUL-terminated, malloc'd. */
static char *
read_whole(const char *path)
{
    FILE *fp = fopen(path, "r");
    char *text = calloc(1, 65536);
    size_t n;

    assert_non_null(fp);
    assert_non_null(text);
    n = fread(text, 1, 65535, fp);
    text[n] = '\0';
    fclose(fp);
    return text;
}

/* Every slot taken: the next client gets a 503 and is closed at once. */
static void
test_conn_pool_full_503(void **state)
{
    struct fx *f = *state;
    int extra[POOL_N - 1], sv[2];
    char buf[512];
    ssize_t n;

    open_client(f);
    for (int i = 0; i < POOL_N - 1; i++)
        extra[i] = connect_conn();
    assert_int_equal(conn_pool_in_use(), POOL_N);

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK
                                | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(conn_open(sv[0]), RC_ERR);
    assert_int_equal(conn_pool_in_use(), POOL_N);
    n = read(sv[1], buf, sizeof(buf) - 1);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_int_equal(strncmp(buf, "HTTP/1.1 503 ", 13), 0);
    assert_non_null(strstr(buf, "\r\nConnection: close\r\n"));
    assert_int_equal(read(sv[1], buf, sizeof(buf)), 0);    /* closed */
    close(sv[1]);

    /* issue 8.9: a burst of refusals is one warning, not one each */
    {
        char path[] = "/tmp/test_conn_log_XXXXXX";
        int lfd = mkstemp(path);
        char *text;
        int lines = 0;

        assert_true(lfd >= 0);
        close(lfd);
        log_set_level(LOG_WARN);
        assert_int_equal(log_open(path), RC_OK);
        for (int i = 0; i < 20; i++) {
            assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK
                                        | SOCK_CLOEXEC, 0, sv), 0);
            send_str(sv[1], GET("/a.txt"));
            assert_int_equal(conn_open(sv[0]), RC_ERR);
            n = read(sv[1], buf, sizeof(buf) - 1);
            assert_true(n > 0);
            buf[n] = '\0';
            assert_int_equal(strncmp(buf, "HTTP/1.1 503 ", 13), 0);
            close(sv[1]);
        }
        log_set_level(LOG_CRIT);
        assert_int_equal(log_open("stderr"), RC_OK);
        text = read_whole(path);
        for (const char *p = text; (p = strstr(p, "connection slots in use"))
             != NULL; p++)
            lines++;
        free(text);
        unlink(path);
        /* at most one a second: 20 refusals in a moment give 0 or 1
         * lines (2 if they straddle a second on a very slow machine) */
        assert_true(lines <= 2);
    }

    /* the others still work */
    send_str(f->client, GET("/a.txt"));
    wait_responses(f, 1);
    assert_int_equal(f->r[0].status, 200);
    for (int i = 0; i < POOL_N - 1; i++)
        close(extra[i]);
    pump(f, pool_in_use_is, 1, "the extra conns to close");
}

/* Read FD until EOF, running the loop meanwhile; the bytes, NUL-ended. */
static size_t
read_to_eof(int fd, char *out, size_t cap)
{
    uint64_t limit = mono_ms() + SAFETY_MS;
    size_t len = 0;

    for (;;) {
        ssize_t n = recv(fd, out + len, cap - 1 - len, MSG_DONTWAIT);
        if (n == 0)
            break;
        if (n > 0) {
            len += (size_t) n;
            assert_true(len < cap - 1);
            continue;
        }
        assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
        if (mono_ms() > limit)
            fail_msg("no EOF (%zu bytes so far)", len);
        event_base_loop(wctx.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    }
    out[len] = '\0';
    return len;
}

/* Draining (issue 8.8): the drain itself closes nothing, so a client that
 * is sending on an idle keep-alive connection is never cut off. That
 * connection answers its next request with "Connection: close" and then
 * closes; one in the middle of a request gets its answer the same way. */
static void
test_conn_drain(void **state)
{
    struct fx *f = *state;
    char buf[4096];
    int mid;

    open_client(f);                 /* slot 0: idle keep-alive */
    mid = connect_conn();           /* slot 1: mid-request */
    send_str(f->client, GET("/a.txt"));
    wait_responses(f, 1);
    send_str(mid, "GET /b.txt HTTP/1.1\r\nHost: t\r\n");
    for (int i = 0; i < 5; i++)
        event_base_loop(wctx.base, EVLOOP_NONBLOCK);
    assert_string_equal(conn_state_name[conn_pool_at(0)->state], "KEEPALIVE");
    assert_string_equal(conn_state_name[conn_pool_at(1)->state], "READING");

    wctx.draining = true;
    for (int i = 0; i < 5; i++)
        event_base_loop(wctx.base, EVLOOP_NONBLOCK);
    assert_int_equal(conn_pool_in_use(), 2);

    send_str(f->client, GET("/b.txt"));
    pump(f, have_eof, 0, "EOF after the answer on the idle conn");
    assert_int_equal(f->nresp, 2);
    assert_int_equal(f->r[1].status, 200);
    assert_string_equal(hdr(f, 1, "Connection"), "close");
    expect_body(f, 1, B_TXT, strlen(B_TXT));

    send_str(mid, "\r\n");
    read_to_eof(mid, buf, sizeof(buf));
    assert_non_null(strstr(buf, "HTTP/1.1 200 "));
    assert_non_null(strstr(buf, "\r\nConnection: close\r\n"));
    assert_non_null(strstr(buf, B_TXT));

    /* both linger until their clients are done */
    close(mid);
    shutdown(f->client, SHUT_WR);
    pump(f, pool_in_use_is, 0, "the drained conns to close");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup_fx, teardown_fx)
        T(test_conn_get_file),
        T(test_conn_get_empty_file),
        T(test_conn_pipelined),
        T(test_conn_pipelined_many),
        T(test_conn_split_request),
        T(test_conn_keepalive_next_request),
        T(test_conn_404_keeps_connection),
        T(test_conn_400_closes),
        T(test_conn_bad_requests),
        T(test_conn_forbidden_and_hidden),
        T(test_conn_connection_close),
        T(test_conn_http10),
        T(test_conn_big_file_sendfile),
        T(test_conn_head),
        T(test_conn_range),
        T(test_conn_range_416_single_content_range),
        T(test_conn_conditional_304),
        T(test_conn_directories),
        T(test_conn_body_framing),
        T(test_conn_body_in_pieces),
        T(test_conn_max_keepalive_requests),
        T(test_conn_keepalive_timeout),
        T(test_conn_header_timeout),
        T(test_conn_client_hangs_up),
        T(test_conn_pool_full_503),
        T(test_conn_drain),
        T(test_conn_req_ref_dies_with_its_request),
        T(test_conn_stop_closes_idle),
#undef T
    };
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;        /* as worker_main(): sendfile may EPIPE */
    sigaction(SIGPIPE, &sa, NULL);
    log_set_level(LOG_CRIT);
    return cmocka_run_group_tests_name("conn", tests, NULL, NULL);
}
