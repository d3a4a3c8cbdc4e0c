/* test_bodies.c - request bodies are routed on the head (issue 8.3, 8.4):
 * a path that takes no body answers at once and never stores the body, so
 * 100 unfinished 1 MiB POSTs cost a worker almost nothing; a form route
 * refuses a body larger than it reads; trailers count against
 * max_request_header; body_timeout bounds the whole body however slowly it
 * trickles in.
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

#define NPOSTS         100
#define BODY_SIZE      (1024 * 1024)
#define BODY_SENT      (256 * 1024)     /* of each body, before measuring */
#define MAX_GROWTH_KB  (4 * 1024)
#define WAIT_MS        30000            /* bounds a hang only */
#define A_TEXT         "file a\n"

static int
setup(void **state)
{
    struct ws_server *ws;
    char path[WS_PATH_MAX + 32];

    if (ws_fixture_setup(state) == -1)
        return -1;
    ws = *state;
    snprintf(path, sizeof(path), "%s/a.txt", ws->root);
    return ws_write_text(path, A_TEXT);
}

static void
send_all(struct http_conn *c, const void *data, size_t len)
{
    if (http_send(c, data, len) != HTTP_OK)
        fail_msg("send: %s", http_strerror());
}

static void
send_zeros(struct http_conn *c, size_t len)
{
    static const char zeros[16384];

    while (len > 0) {
        size_t n = len < sizeof(zeros) ? len : sizeof(zeros);
        send_all(c, zeros, n);
        len -= n;
    }
}

/* Read one response on C and check its status. */
static void
expect_status(struct http_conn *c, int status, const char *what)
{
    struct http_resp r;

    if (http_read_response(c, false, &r) != HTTP_OK)
        fail_msg("%s: %s", what, http_strerror());
    if (r.status != status)
        fail_msg("%s: status %d, want %d", what, r.status, status);
    http_resp_free(&r);
}

/* issue 8.3: 100 unfinished 1 MiB POSTs to a static file. Each gets its
 * 405 on the head, before any body byte; a quarter of each body follows and
 * is dropped, so the worker grows by less than 4 MiB (it took 1 MiB per
 * connection before). A body sent to its end leaves the connection usable. */
static void
test_bodies_issue_8_unwanted_body_not_stored(void **state)
{
    struct ws_server *ws = *state;
    struct http_conn *c = calloc(NPOSTS, sizeof(*c));
    char head[256];
    pid_t kids[WS_MAX_PROCS];
    long before, after;
    int hn;

    assert_non_null(c);
    assert_int_equal(ws_start_conf(ws, "processes = 1\n"), 0);
    assert_int_equal(ws_wait_children(ws->pid, 1, WAIT_MS, kids), 1);
    for (int i = 0; i < 20; i++) {
        struct http_resp r;
        assert_int_equal(http_get(ws->port, "/a.txt", &r), HTTP_OK);
        http_resp_free(&r);
    }
    before = ws_rss_kb(kids[0]);
    assert_true(before > 0);

    hn = snprintf(head, sizeof(head), "POST /a.txt HTTP/1.1\r\nHost: x\r\n"
                  "Content-Length: %d\r\n\r\n", BODY_SIZE);
    for (int i = 0; i < NPOSTS; i++) {
        if (http_conn_open(&c[i], ws->port) != 0)
            fail_msg("connection %d: %s", i, http_strerror());
        send_all(&c[i], head, (size_t) hn);
        expect_status(&c[i], 405, "POST on the head");
    }
    for (int i = 0; i < NPOSTS; i++)
        send_zeros(&c[i], BODY_SENT);
    /* the last connection's body is whole: what follows it is served */
    send_zeros(&c[NPOSTS - 1], BODY_SIZE - BODY_SENT);
    {
        struct http_resp r;
        assert_int_equal(http_request(&c[NPOSTS - 1], "GET", "/a.txt", NULL,
                                      &r), HTTP_OK);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, A_TEXT);
        http_resp_free(&r);
    }
    after = ws_rss_kb(kids[0]);
    fprintf(stderr, "worker VmRSS %ld kB before, %ld kB with %d unfinished "
            "1 MiB POSTs\n", before, after, NPOSTS);
    assert_true(after - before < MAX_GROWTH_KB);
    for (int i = 0; i < NPOSTS; i++)
        http_conn_close(&c[i]);
    free(c);
    ws->passed = true;
}

/* issue 8.3: a form route reads at most a few KiB: a larger declared body
 * is refused on the head, a larger chunked one as soon as it shows. */
static void
test_bodies_issue_8_form_route_limit(void **state)
{
    struct ws_server *ws = *state;
    struct http_conn c;
    static const char big[] =
        "POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n";
    static const char chunked[] =
        "POST /login HTTP/1.1\r\nHost: x\r\n"
        "Transfer-Encoding: chunked\r\n\r\n";

    assert_int_equal(ws_start_conf(ws, "processes = 1\n"), 0);
    assert_int_equal(http_conn_open(&c, ws->port), 0);
    send_all(&c, big, sizeof(big) - 1);
    expect_status(&c, 413, "1 MiB declared form body");
    http_conn_close(&c);

    assert_int_equal(http_conn_open(&c, ws->port), 0);
    send_all(&c, chunked, sizeof(chunked) - 1);
    for (int i = 0; i < 4; i++) {
        send_all(&c, "800\r\n", 5);
        send_zeros(&c, 0x800);
        send_all(&c, "\r\n", 2);
    }
    expect_status(&c, 413, "8 KiB chunked form body");
    http_conn_close(&c);
    ws->passed = true;
}

/* issue 8.4: the trailer section counts against max_request_header. */
static void
test_bodies_issue_8_trailers_limited(void **state)
{
    struct ws_server *ws = *state;
    static const char head[] =
        "POST /login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\nhello\r\n0\r\n";
    char line[128];
    struct http_conn c;
    struct http_resp r;

    assert_int_equal(ws_start_conf(ws, "processes = 1\n"
                                       "max_request_header = 1k\n"), 0);
    /* a few short trailers are fine (the form itself is not: 400) */
    assert_int_equal(http_conn_open(&c, ws->port), 0);
    send_all(&c, head, sizeof(head) - 1);
    send_all(&c, "X-One: 1\r\nX-Two: 2\r\n\r\n", 22);
    assert_int_equal(http_read_response(&c, false, &r), HTTP_OK);
    assert_int_not_equal(r.status, 431);
    http_resp_free(&r);
    http_conn_close(&c);

    /* twelve lines of 100 bytes are more than the head may hold */
    assert_int_equal(http_conn_open(&c, ws->port), 0);
    send_all(&c, head, sizeof(head) - 1);
    memset(line, 'a', sizeof(line));
    memcpy(line, "X-Pad: ", 7);
    memcpy(line + 98, "\r\n", 2);
    for (int i = 0; i < 12; i++)
        send_all(&c, line, 100);
    send_all(&c, "\r\n", 2);
    expect_status(&c, 431, "1200 bytes of trailers");
    http_conn_close(&c);
    ws->passed = true;
}

/* Send PIECE every 100 ms (the pace of a slow client, not a wait) until
 * the server answers; return the status, or fail after WAIT_MS. */
static int
trickle_until_answer(struct http_conn *c, const char *piece)
{
    int64_t deadline = ws_now_ms() + WAIT_MS;
    struct http_resp r;
    int status;

    for (;;) {
        struct pollfd p = { c->fd, POLLIN, 0 };
        int n = poll(&p, 1, 100);
        if (n == 1)
            break;
        if (ws_now_ms() > deadline)
            fail_msg("no answer while the body trickled in for %d ms", WAIT_MS);
        if (send(c->fd, piece, strlen(piece), MSG_NOSIGNAL) < 0)
            fail_msg("send: %s", strerror(errno));
    }
    if (http_read_response(c, false, &r) != HTTP_OK)
        fail_msg("reading the answer: %s", http_strerror());
    status = r.status;
    http_resp_free(&r);
    return status;
}

/* issue 8.4: body_timeout bounds the whole body, however it trickles in:
 * a byte of Content-Length body, or a trailer line, every 100 ms does not
 * keep the connection past it (each used to re-arm header_timeout). */
static void
test_bodies_issue_8_body_timeout(void **state)
{
    struct ws_server *ws = *state;
    static const char cl_head[] =
        "POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n";
    static const char ch_head[] =
        "POST /login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\nhello\r\n0\r\n";
    struct http_conn c;

    assert_int_equal(ws_start_conf(ws, "processes = 1\n"
                                       "header_timeout = 60s\n"
                                       "body_timeout = 1s\n"), 0);
    assert_int_equal(http_conn_open(&c, ws->port), 0);
    send_all(&c, cl_head, sizeof(cl_head) - 1);
    assert_int_equal(trickle_until_answer(&c, "a"), 408);
    http_conn_close(&c);

    assert_int_equal(http_conn_open(&c, ws->port), 0);
    send_all(&c, ch_head, sizeof(ch_head) - 1);
    assert_int_equal(trickle_until_answer(&c, "X-T: 1\r\n"), 408);
    http_conn_close(&c);
    ws->passed = true;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, ws_fixture_teardown)
        T(test_bodies_issue_8_unwanted_body_not_stored),
        T(test_bodies_issue_8_form_route_limit),
        T(test_bodies_issue_8_trailers_limited),
        T(test_bodies_issue_8_body_timeout),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
