/* test_timeouts.c - header_timeout, keepalive_timeout and send_timeout
 * close slow, idle and stalled clients (never before the timeout), and spare
 * a client that keeps reading. Configs use 1 s timeouts; bounds are generous.
 * SPDX-License-Identifier: MIT */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness.h"

#define TIMEOUT_MS    1000          /* every timeout in these configs: 1s */
#define EARLY_MS      (TIMEOUT_MS - 200)
#define LATE_MS       (TIMEOUT_MS + 3000)
#define BIG_SIZE      ((off_t) 64 << 20)
#define A_TEXT        "file a\n"

static int
setup(void **state)
{
    struct ws_server *ws;
    char path[WS_PATH_MAX + 32];

    if (ws_fixture_setup(state) == -1)
        return -1;
    ws = *state;
    snprintf(path, sizeof(path), "%s/a.txt", ws->root);
    if (ws_write_text(path, A_TEXT) == -1) {
        return -1;
    }
    snprintf(path, sizeof(path), "%s/big.bin", ws->root);
    return ws_write_sparse_file(path, BIG_SIZE);
}

static void
open_conn(struct ws_server *ws, struct http_conn *c, int rcvbuf)
{
    if (http_conn_open_rcvbuf(c, ws->port, rcvbuf) == -1) {
        fail_msg("connect: %s", http_strerror());
    }
}

/* Is FD closed by the peer? Reads (and counts into *GOT) whatever is
 * pending without blocking. Returns 1 on EOF or reset, 0 otherwise. */
static int
peer_closed(int fd, size_t *got)
{
    char tmp[65536];

    for (;;) {
        ssize_t n = recv(fd, tmp, sizeof(tmp), MSG_DONTWAIT);
        if (n > 0) {
            *got += (size_t) n;
            continue;
        }
        if (n == 0) {
            return 1;
        }
        if (errno == EINTR) {
            continue;
        }
        return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : 1;
    }
}

/* Poll FD until the server closes it or DEADLINE (ws_now_ms) passes; every
 * STEP_MS call SEND_STEP (if set). Returns ws_now_ms() at the close, or -1. */
static int64_t
until_closed(int fd, int64_t deadline, int step_ms,
             int (*send_step)(int fd, int i), size_t *got)
{
    for (int i = 0;; i++) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int64_t now = ws_now_ms();
        int wait = (int) (deadline - now);

        if (wait <= 0) {
            return -1;
        }
        if (step_ms > 0 && wait > step_ms) {
            wait = step_ms;
        }
        if (poll(&p, 1, wait) == 1 && peer_closed(fd, got)) {
            return ws_now_ms();
        }
        if (send_step != NULL && send_step(fd, i) == -1) {
            return ws_now_ms();         /* EPIPE / ECONNRESET: closed */
        }
    }
}

/* One more header line of a request head that never ends. */
static int
send_header_line(int fd, int i)
{
    char line[64];
    int n = snprintf(line, sizeof(line), "X-Slow-%d: %d\r\n", i, i);

    for (int k = 0; k < n; k++) {       /* byte by byte, as slowly as that */
        if (send(fd, line + k, 1, MSG_NOSIGNAL) != 1) {
            return -1;
        }
    }
    return 0;
}

/* Check the close time T (ms after T0) against [EARLY_MS, LATE_MS]. */
static void
assert_closed_in_window(int64_t t, int64_t t0, const char *what)
{
    if (t < 0) {
        fail_msg("%s: still open %d ms later (timeout %d ms)", what, LATE_MS,
                 TIMEOUT_MS);
    }
    fprintf(stderr, "%s: closed after %lld ms\n", what, (long long) (t - t0));
    if (t - t0 < EARLY_MS) {
        fail_msg("%s: closed after %lld ms, before the %d ms timeout", what,
                 (long long) (t - t0), TIMEOUT_MS);
    }
}

static void
test_http_header_timeout_partial_head(void **state)
{
    static const char start[] = "GET /a.txt HTTP/1.1\r\nHost: x\r\n";
    struct ws_server *ws = *state;
    struct http_conn c;
    size_t got = 0;
    int64_t t0, t;

    assert_int_equal(ws_start_conf(ws, "processes = 2\nheader_timeout = 1s\n"
                                   "keepalive_timeout = 30s\n"), 0);
    open_conn(ws, &c, 0);
    t0 = ws_now_ms();
    assert_int_equal(http_send(&c, start, sizeof(start) - 1), HTTP_OK);
    /* a header line every 200 ms: progress must not extend the deadline */
    t = until_closed(c.fd, t0 + LATE_MS, 200, send_header_line, &got);
    assert_closed_in_window(t, t0, "partial head");
    http_conn_close(&c);
    ws->passed = true;
}

static void
test_http_header_timeout_silent_client(void **state)
{
    struct ws_server *ws = *state;
    struct http_conn c;
    size_t got = 0;
    int64_t t0, t;

    assert_int_equal(ws_start_conf(ws, "processes = 2\nheader_timeout = 1s\n"
                                   "keepalive_timeout = 30s\n"), 0);
    open_conn(ws, &c, 0);
    t0 = ws_now_ms();
    t = until_closed(c.fd, t0 + LATE_MS, 0, NULL, &got);
    assert_closed_in_window(t, t0, "silent client");
    http_conn_close(&c);
    ws->passed = true;
}

static void
test_http_keepalive_timeout_idle(void **state)
{
    struct ws_server *ws = *state;
    struct http_resp r;
    struct http_conn c;
    size_t got = 0;
    int64_t t0, t;

    /* header_timeout longer than the bound: only keepalive_timeout fits */
    assert_int_equal(ws_start_conf(ws, "processes = 2\nheader_timeout = 10s\n"
                                   "keepalive_timeout = 1s\n"), 0);
    open_conn(ws, &c, 0);
    assert_int_equal(http_request(&c, "GET", "/a.txt", NULL, &r), HTTP_OK);
    assert_int_equal(r.status, 200);
    assert_true(r.keepalive);
    http_resp_free(&r);
    t0 = ws_now_ms();
    t = until_closed(c.fd, t0 + LATE_MS, 0, NULL, &got);
    assert_closed_in_window(t, t0, "idle keep-alive");
    assert_int_equal(got, 0);
    http_conn_close(&c);
    ws->passed = true;
}

static void
test_http_keepalive_timeout_restarts_per_request(void **state)
{
    struct ws_server *ws = *state;
    struct http_resp r;
    struct http_conn c;
    int64_t t0;

    assert_int_equal(ws_start_conf(ws, "processes = 2\nheader_timeout = 10s\n"
                                   "keepalive_timeout = 1s\n"), 0);
    open_conn(ws, &c, 0);
    t0 = ws_now_ms();
    /* 5 requests 500 ms apart: 2.5 s on one connection, idle 0.5 s each */
    for (int i = 0; i < 5; i++) {
        int rc = http_request(&c, "GET", "/a.txt", NULL, &r);
        if (rc != HTTP_OK) {
            fail_msg("request %d at %lld ms: %s", i,
                     (long long) (ws_now_ms() - t0), http_strerror());
        }
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, A_TEXT);
        http_resp_free(&r);
        ws_sleep_ms(500);
    }
    http_conn_close(&c);
    ws->passed = true;
}

/* Poll until PID holds at least (MORE) or at most (!MORE) WANT sockets,
 * for at most TIMEOUT_MS. Returns ws_now_ms() when it did, or -1 (the last
 * count in *LAST). A bound, not an exact count: a transient socket (say a
 * Redis connect attempt) must not matter. */
static int64_t
wait_sockets(pid_t pid, bool more, int want, int timeout_ms, int *last)
{
    int64_t deadline = ws_now_ms() + timeout_ms;

    for (;;) {
        *last = ws_count_sockets(pid);
        if (*last >= 0 && (more ? *last >= want : *last <= want)) {
            return ws_now_ms();
        }
        if (ws_now_ms() >= deadline) {
            return -1;
        }
        ws_sleep_ms(20);
    }
}

/* Sockets of PID once two readings 100 ms apart agree (at most 2 s). */
static int
settled_sockets(pid_t pid)
{
    int prev = -2, now = -1;

    for (int i = 0; i < 20; i++) {
        now = ws_count_sockets(pid);
        if (now == prev) {
            break;
        }
        prev = now;
        ws_sleep_ms(100);
    }
    return now;
}

static void
test_http_send_timeout_stalled_reader(void **state)
{
    struct ws_server *ws = *state;
    struct http_conn c;
    pid_t kids[WS_MAX_PROCS];
    int base, last;
    int64_t t0, t, deadline;
    char head[4096];
    size_t hl = 0, body = 0;
    long long cl = -1;
    char *end;

    assert_int_equal(ws_start_conf(ws, "processes = 1\nsend_timeout = 1s\n"
                                   "keepalive_timeout = 30s\n"
                                   "header_timeout = 30s\n"), 0);
    assert_int_equal(ws_wait_children(ws->pid, 1, 5000, kids), 1);
    base = settled_sockets(kids[0]);
    assert_true(base >= 0);

    open_conn(ws, &c, 4096);
    assert_int_equal(http_send_request(&c, "GET", "/big.bin", NULL),
                     HTTP_OK);
    t0 = ws_now_ms();
    if (wait_sockets(kids[0], true, base + 1, 2000, &last) < 0) {
        fail_msg("worker holds %d sockets, want %d with the download", last,
                 base + 1);
    }
    /* never read: the server must give up on us */
    t = wait_sockets(kids[0], false, base, LATE_MS + 2000, &last);
    if (t < 0) {
        fail_msg("stalled reader still held %lld ms after the request "
                 "(send_timeout %d ms; worker sockets %d, base %d)",
                 (long long) (ws_now_ms() - t0), TIMEOUT_MS, last, base);
    }
    fprintf(stderr, "stalled reader dropped after %lld ms\n",
            (long long) (t - t0));
    if (t - t0 < EARLY_MS) {
        fail_msg("dropped after %lld ms, before send_timeout",
                 (long long) (t - t0));
    }

    /* now read it all: the head, then fewer bytes than announced */
    deadline = ws_now_ms() + 20000;
    for (;;) {
        struct pollfd p = { .fd = c.fd, .events = POLLIN };
        char buf[65536];
        ssize_t n;
        int left = (int) (deadline - ws_now_ms());

        if (left <= 0) {
            fail_msg("still receiving 20 s after the drop (%zu bytes)", body);
        }
        if (poll(&p, 1, left) != 1) {
            continue;
        }
        n = recv(c.fd, buf, sizeof(buf), 0);
        if (n <= 0) {
            break;                      /* EOF or reset */
        }
        if (cl < 0) {
            size_t take = (size_t) n < sizeof(head) - 1 - hl
                          ? (size_t) n : sizeof(head) - 1 - hl;
            char *eoh;

            memcpy(head + hl, buf, take);
            hl += take;
            head[hl] = '\0';
            eoh = strstr(head, "\r\n\r\n");
            if (eoh == NULL) {
                continue;
            }
            assert_memory_equal(head, "HTTP/1.1 200", 12);
            end = strcasestr(head, "\r\nContent-Length:");
            assert_non_null(end);
            cl = strtoll(end + 17, NULL, 10);
            body = hl - (size_t) (eoh + 4 - head) + ((size_t) n - take);
        } else {
            body += (size_t) n;
        }
    }
    fprintf(stderr, "read %zu of %lld body bytes after the drop\n", body, cl);
    assert_int_equal(cl, (long long) BIG_SIZE);
    assert_true(body < (size_t) BIG_SIZE);
    http_conn_close(&c);

    /* the worker is fine */
    {
        struct http_resp r;
        assert_int_equal(http_get(ws->port, "/a.txt", &r), HTTP_OK);
        assert_int_equal(r.status, 200);
        http_resp_free(&r);
    }
    ws->passed = true;
}

static void
test_http_send_timeout_spares_steady_reader(void **state)
{
    struct ws_server *ws = *state;
    struct http_conn c;
    char *buf = malloc(65536);
    size_t total = 0;
    int64_t t0, deadline;

    assert_non_null(buf);
    assert_int_equal(ws_start_conf(ws, "processes = 1\nsend_timeout = 1s\n"),
                     0);
    open_conn(ws, &c, 0);
    assert_int_equal(http_send_request(&c, "GET", "/big.bin", NULL),
                     HTTP_OK);
    /* 64 KiB every 10 ms for 3 s: never idle for send_timeout */
    t0 = ws_now_ms();
    deadline = t0 + 3 * TIMEOUT_MS;
    while (ws_now_ms() < deadline) {
        size_t tick = 0;

        while (tick < 65536) {
            ssize_t n = recv(c.fd, buf, 65536 - tick, 0);
            if (n <= 0) {
                fail_msg("steady reader cut off after %lld ms and %zu bytes "
                         "(%s)", (long long) (ws_now_ms() - t0), total,
                         n == 0 ? "EOF" : strerror(errno));
            }
            tick += (size_t) n;
            total += (size_t) n;
        }
        ws_sleep_ms(10);
    }
    fprintf(stderr, "steady reader got %zu bytes in %d ms\n", total,
            3 * TIMEOUT_MS);
    assert_true(total >= (size_t) 3 << 20);
    assert_true(total < (size_t) BIG_SIZE);
    http_conn_close(&c);
    free(buf);
    ws->passed = true;
}

int
main(int argc, char **argv)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, ws_fixture_teardown)
    const struct CMUnitTest tests[] = {
        T(test_http_header_timeout_partial_head),
        T(test_http_header_timeout_silent_client),
        T(test_http_keepalive_timeout_idle),
        T(test_http_keepalive_timeout_restarts_per_request),
        T(test_http_send_timeout_stalled_reader),
        T(test_http_send_timeout_spares_steady_reader),
    };
#undef T

    if (argc > 1) {
        cmocka_set_test_filter(argv[1]);
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
