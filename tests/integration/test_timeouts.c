/* test_timeouts.c - header_timeout, keepalive_timeout and send_timeout
 * close slow, idle and stalled clients (never before the timeout), and spare
 * a client that keeps reading. The timeout under test is 1 s; the others
 * are 60 s, so a close within WS_WAIT_MS (which only bounds a hang) can only
 * come from the one under test. No test asserts how soon after the timeout
 * the close comes.
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

#define TIMEOUT_MS    1000          /* the timeout under test: 1s */
#define EARLY_MS      (TIMEOUT_MS - 200)    /* closed before: a bug */
#define OTHERS        "60s"         /* every other timeout: beyond any wait */
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

/* The server closed at T (-1: not within WS_WAIT_MS of T0), and not
 * before the timeout: T0 is taken before the server could start it. */
static void
assert_closed_after_timeout(int64_t t, int64_t t0, const char *what)
{
    if (t < 0) {
        fail_msg("%s: still open %d ms later (timeout %d ms)", what,
                 WS_WAIT_MS, TIMEOUT_MS);
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
                                   "keepalive_timeout = " OTHERS "\n"
                                   "send_timeout = " OTHERS "\n"), 0);
    open_conn(ws, &c, 0);
    t0 = ws_now_ms();
    assert_int_equal(http_send(&c, start, sizeof(start) - 1), HTTP_OK);
    /* a header line every 200 ms: progress must not extend the deadline */
    t = until_closed(c.fd, t0 + WS_WAIT_MS, 200, send_header_line, &got);
    assert_closed_after_timeout(t, t0, "partial head");
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
                                   "keepalive_timeout = " OTHERS "\n"
                                   "send_timeout = " OTHERS "\n"), 0);
    open_conn(ws, &c, 0);
    t0 = ws_now_ms();
    t = until_closed(c.fd, t0 + WS_WAIT_MS, 0, NULL, &got);
    assert_closed_after_timeout(t, t0, "silent client");
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
    assert_int_equal(ws_start_conf(ws, "processes = 2\n"
                                   "header_timeout = " OTHERS "\n"
                                   "send_timeout = " OTHERS "\n"
                                   "keepalive_timeout = 1s\n"), 0);
    open_conn(ws, &c, 0);
    assert_int_equal(http_request(&c, "GET", "/a.txt", NULL, &r), HTTP_OK);
    assert_int_equal(r.status, 200);
    assert_true(r.keepalive);
    http_resp_free(&r);
    t0 = ws_now_ms();
    t = until_closed(c.fd, t0 + WS_WAIT_MS, 0, NULL, &got);
    assert_closed_after_timeout(t, t0, "idle keep-alive");
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

    assert_int_equal(ws_start_conf(ws, "processes = 2\n"
                                   "header_timeout = " OTHERS "\n"
                                   "send_timeout = " OTHERS "\n"
                                   "keepalive_timeout = 1s\n"), 0);
    open_conn(ws, &c, 0);
    t0 = ws_now_ms();
    /* 13 requests a quarter timeout apart: 3 timeouts on one connection,
     * never idle for more than a quarter of one (the pause is the idle
     * time under test, not a wait for something) */
    for (int i = 0; i < 13; i++) {
        int rc = http_request(&c, "GET", "/a.txt", NULL, &r);
        if (rc != HTTP_OK) {
            fail_msg("request %d at %lld ms: %s", i,
                     (long long) (ws_now_ms() - t0), http_strerror());
        }
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, A_TEXT);
        http_resp_free(&r);
        if (i < 12) {
            ws_sleep_ms(TIMEOUT_MS / 4);
        }
    }
    /* the connection outlived the timeout: it was restarted */
    assert_true(ws_now_ms() - t0 >= 3 * TIMEOUT_MS);
    http_conn_close(&c);
    ws->passed = true;
}

static void
test_http_send_timeout_stalled_reader(void **state)
{
    struct ws_server *ws = *state;
    struct http_conn c;
    int held;
    int64_t t0, t, deadline;
    char head[4096];
    size_t hl = 0, body = 0;
    long long cl = -1;
    char *end;

    assert_int_equal(ws_start_conf(ws, "processes = 1\nsend_timeout = 1s\n"
                                   "keepalive_timeout = " OTHERS "\n"
                                   "header_timeout = " OTHERS "\n"), 0);

    open_conn(ws, &c, 4096);
    t0 = ws_now_ms();
    assert_int_equal(http_send_request(&c, "GET", "/big.bin", NULL),
                     HTTP_OK);
    /* the download is under way once its first bytes wait for us */
    if (ws_wait_readable(&c.fd, 1, WS_WAIT_MS, NULL) != 1) {
        fail_msg("no response bytes within %d ms", WS_WAIT_MS);
    }
    /* never read: the server must give up on us. Its end of the
     * connection leaves ESTABLISHED once it closes it (the one other
     * connection it had, the readiness probe, is closed long before) */
    held = ws_wait_tcp_server_conns(ws->port, 0, WS_WAIT_MS);
    t = ws_now_ms();
    if (held != 0) {
        fail_msg("stalled reader still held %lld ms after the request "
                 "(send_timeout %d ms; %d server connections)",
                 (long long) (t - t0), TIMEOUT_MS, held);
    }
    fprintf(stderr, "stalled reader dropped after %lld ms\n",
            (long long) (t - t0));
    if (t - t0 < EARLY_MS) {
        fail_msg("dropped after %lld ms, before send_timeout",
                 (long long) (t - t0));
    }

    /* now read it all: the head, then fewer bytes than announced */
    deadline = ws_now_ms() + WS_WAIT_MS;
    for (;;) {
        struct pollfd p = { .fd = c.fd, .events = POLLIN };
        char buf[65536];
        ssize_t n;
        int left = (int) (deadline - ws_now_ms());

        if (left <= 0) {
            fail_msg("still receiving %d ms after the drop (%zu bytes)",
                     WS_WAIT_MS, body);
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
    assert_int_equal(ws_start_conf(ws, "processes = 1\nsend_timeout = 1s\n"
                                   "keepalive_timeout = " OTHERS "\n"
                                   "header_timeout = " OTHERS "\n"), 0);
    open_conn(ws, &c, 0);
    assert_int_equal(http_send_request(&c, "GET", "/big.bin", NULL),
                     HTTP_OK);
    /* 64 KiB, then 10 ms off, never idle for send_timeout: until the
     * connection has lived 3 send_timeouts (a lower bound) and 3 MiB went
     * through (so the server kept sending, however slowly) */
    t0 = ws_now_ms();
    deadline = t0 + WS_WAIT_MS;
    while (ws_now_ms() - t0 < 3 * TIMEOUT_MS || total < (size_t) 3 << 20) {
        size_t tick = 0;

        if (ws_now_ms() >= deadline) {
            fail_msg("steady reader got %zu bytes in %d ms", total,
                     WS_WAIT_MS);
        }
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
    fprintf(stderr, "steady reader got %zu bytes in %lld ms\n", total,
            (long long) (ws_now_ms() - t0));
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
