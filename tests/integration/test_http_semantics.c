/* test_http_semantics.c - issue 9 points 3 and 4 against the real binary:
 * Host and absolute-form authority syntax (400 for what is not
 * host [":" port]), HTTP/1.2 served as 1.1, OPTIONS (200 with Allow, for
 * "*" and per path), CONNECT (501 for host:port, 400 otherwise). Each test
 * starts its own server on an ephemeral port; every wait only bounds a
 * hang.
 * SPDX-License-Identifier: MIT */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "harness.h"

#define CONF        "processes = 2\nkeepalive_timeout = 60s\n" \
                    "header_timeout = 60s\n"
#define A_TEXT      "file a\n"
#define ALLOW_ANY   "GET, HEAD, POST, OPTIONS"
#define ALLOW_GET   "GET, HEAD, OPTIONS"
#define ALLOW_POST  "POST, OPTIONS"

/* ---- Fixture and helpers ---- */

static int
setup(void **state)
{
    struct ws_server *ws;
    char path[WS_PATH_MAX + 32];

    if (ws_fixture_setup(state) == -1)
        return -1;
    ws = *state;
    snprintf(path, sizeof(path), "%s/a.txt", ws->root);
    if (ws_write_text(path, A_TEXT) == -1)
        return -1;
    snprintf(path, sizeof(path), "%s/index.html", ws->root);
    return ws_write_text(path, "<p>index</p>\n");
}

static void
start(struct ws_server *ws)
{
    assert_int_equal(ws_start_conf(ws, CONF), 0);
}

static void
open_conn(const struct ws_server *ws, struct http_conn *c)
{
    if (http_conn_open(c, ws->port) == -1)
        fail_msg("connect: %s", http_strerror());
}

static bool
has_close(const struct http_resp *r)
{
    const char *v = http_header(r, "Connection");
    return v != NULL && strcasestr(v, "close") != NULL;
}

/* Wait for the server to close C (EOF or reset), at most WS_WAIT_MS (a
 * hang, not a speed). Returns false on timeout or when bytes arrive. */
static bool
closed_quietly(struct http_conn *c)
{
    int64_t deadline = ws_now_ms() + WS_WAIT_MS;
    char tmp[4096];

    if (c->len != 0)
        return false;
    if (c->eof)
        return true;
    for (;;) {
        struct pollfd p = { .fd = c->fd, .events = POLLIN };
        int left = (int) (deadline - ws_now_ms()), n;
        ssize_t got;

        if (left <= 0)
            return false;
        n = poll(&p, 1, left);
        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        got = recv(c->fd, tmp, sizeof(tmp), MSG_DONTWAIT);
        if (got == 0 || (got == -1 && errno != EINTR && errno != EAGAIN))
            return true;
        if (got > 0)
            return false;
    }
}

struct raw_case {
    int         line;
    const char *data;
    size_t      len;
    int         status;
};

#define RAW(data, status) { __LINE__, data, sizeof(data) - 1, status }

/* Send the case on a fresh connection and check the answer: a 2xx comes
 * with the file a.txt or an empty body and keeps the connection; any
 * other status closes it ("Connection: close", then EOF). Returns false
 * (after printing why) on a mismatch. */
static bool
check_raw(const struct ws_server *ws, const struct raw_case *t)
{
    struct http_resp r;
    struct http_conn c;
    bool ok = true;
    int rc;

    open_conn(ws, &c);
    rc = http_send(&c, t->data, t->len);
    if (rc == HTTP_OK)
        rc = http_read_response(&c, false, &r);
    if (rc != HTTP_OK) {
        fprintf(stderr, "line %d: no response: %s\n", t->line,
                http_strerror());
        http_conn_close(&c);
        return false;
    }
    if (r.status != t->status) {
        fprintf(stderr, "line %d: status %d, want %d\n", t->line, r.status,
                t->status);
        ok = false;
    } else if (t->status < 300) {
        if (r.body_len != 0 && strcmp(r.body, A_TEXT) != 0) {
            fprintf(stderr, "line %d: body '%.40s'\n", t->line, r.body);
            ok = false;
        }
        if (has_close(&r) || !r.keepalive) {
            fprintf(stderr, "line %d: %d closes the connection\n", t->line,
                    r.status);
            ok = false;
        }
    } else {
        if (!has_close(&r)) {
            fprintf(stderr, "line %d: %d without Connection: close\n",
                    t->line, r.status);
            ok = false;
        }
        if (!closed_quietly(&c)) {
            fprintf(stderr, "line %d: not closed (or more bytes) after %d\n",
                    t->line, r.status);
            ok = false;
        }
    }
    http_resp_free(&r);
    http_conn_close(&c);
    return ok;
}

static void
run_raw_cases(const struct ws_server *ws, const struct raw_case *cases,
              size_t n)
{
    int failed = 0;

    for (size_t i = 0; i < n; i++)
        failed += !check_raw(ws, &cases[i]);
    if (ws_file_contains(ws->error_log, "killed by signal"))
        fail_msg("a worker crashed (see error.log)");
    if (failed != 0)
        fail_msg("%d of %zu requests answered wrongly", failed, n);
}

/* One request on C; fails the test when no complete response arrives. */
static void
req(struct http_conn *c, const char *method, const char *path,
    const char *extra, struct http_resp *r)
{
    if (http_request(c, method, path, extra, r) != HTTP_OK)
        fail_msg("%s %s: %s", method, path, http_strerror());
}

static void
assert_header(const struct http_resp *r, const char *name, const char *want,
              int line)
{
    const char *v = http_header(r, name);

    if (v == NULL || strcmp(v, want) != 0)
        fail_msg("line %d: %s '%s' (status %d), want '%s'", line, name,
                 v != NULL ? v : "(none)", r->status, want);
}

/* ---- 9.3: Host syntax ---- */

#define HOST(value, status) \
    RAW("GET /a.txt HTTP/1.1\r\nHost: " value "\r\n\r\n", status)
#define TARGET(target, status) \
    RAW("GET " target " HTTP/1.1\r\nHost: x\r\n\r\n", status)

static void
test_http_semantics_issue_9_host_syntax(void **state)
{
    static const struct raw_case cases[] = {
        /* the issue's four */
        HOST("123.40.56.78:9000:80", 400),
        HOST("x:80a", 400),
        HOST("[abcd::ef98:0:7654:321", 400),
        HOST("extra[abcd::ef98:0:7654:321]:98", 400),
        /* more that are not host [":" port] */
        HOST(":80", 400),
        HOST("x:65536", 400),
        HOST("[::1]x", 400),
        HOST("[::g]", 400),
        HOST("[fe80::1%25eth0]", 400),
        HOST("a<b", 400),
        HOST("a%zz", 400),
        HOST("caf\xc3\xa9.example", 400),
        /* fine */
        HOST("123.40.56.78:9000", 200),
        HOST("[abcd::ef98:0:7654:321]:98", 200),
        HOST("[::ffff:192.0.2.1]", 200),
        HOST("[v1.fe80::a+b]:8080", 200),
        HOST("www.example.com", 200),
        HOST("a-b_c~d.e!$&'()*+,;=%41", 200),
        HOST("x:", 200),
        HOST("x:65535", 200),
        HOST("", 200),
        /* the authority of an absolute-form target */
        TARGET("http://123.40.56.78:9000:80/a.txt", 400),
        TARGET("http://x:80a/a.txt", 400),
        TARGET("http://[abcd::ef98:0:7654:321/a.txt", 400),
        TARGET("http://extra[abcd::ef98:0:7654:321]:98/a.txt", 400),
        TARGET("http://user@x/a.txt", 400),
        TARGET("http://:80/a.txt", 400),
        TARGET("http://[abcd::ef98:0:7654:321]:98/a.txt", 200),
        TARGET("http://x:/a.txt", 200),
        TARGET("https://123.40.56.78/a.txt", 200),
    };
    struct ws_server *ws = *state;

    start(ws);
    run_raw_cases(ws, cases, sizeof(cases) / sizeof(cases[0]));
    ws->passed = true;
}

/* ---- 9.4: versions ---- */

/* HTTP/1.2 (any 1.x above 1) is answered as 1.1: the file, an HTTP/1.1
 * status line, and the connection kept as for 1.1. 2.0 and up stay 505. */
static void
test_http_semantics_issue_9_http_1_2_as_1_1(void **state)
{
    static const char two[] =
        "GET /a.txt HTTP/1.2\r\nHost: x\r\n\r\n"
        "GET /a.txt HTTP/1.9\r\nHost: x\r\n\r\n";
    static const struct raw_case cases[] = {
        RAW("GET /a.txt HTTP/1.2\r\nHost: x\r\n\r\n", 200),
        RAW("GET /a.txt HTTP/1.2\r\n\r\n", 400),     /* as 1.1: Host */
        RAW("GET /a.txt HTTP/2.0\r\nHost: x\r\n\r\n", 505),
        RAW("GET /a.txt HTTP/3.0\r\nHost: x\r\n\r\n", 505),
        RAW("GET /a.txt HTTP/0.9\r\n\r\n", 505),
    };
    struct ws_server *ws = *state;
    struct http_resp r;
    struct http_conn c;

    start(ws);
    run_raw_cases(ws, cases, sizeof(cases) / sizeof(cases[0]));

    /* two pipelined on one connection, both answered as 1.1, kept open */
    open_conn(ws, &c);
    assert_int_equal(http_send(&c, two, sizeof(two) - 1), HTTP_OK);
    for (int i = 0; i < 2; i++) {
        if (http_read_response(&c, false, &r) != HTTP_OK)
            fail_msg("response %d: %s", i, http_strerror());
        assert_int_equal(r.status, 200);
        assert_int_equal(r.minor, 1);
        assert_string_equal(r.body, A_TEXT);
        assert_true(r.keepalive);
        assert_false(has_close(&r));
        http_resp_free(&r);
    }
    req(&c, "GET", "/a.txt", NULL, &r);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    http_conn_close(&c);
    ws->passed = true;
}

/* ---- 9.4: OPTIONS ---- */

/* OPTIONS answers 200 with Allow and an empty body on every path, and
 * keeps the connection: "*" (and an absolute-form target with no path,
 * RFC 9112 3.2.4) names the server's methods, a path its route's. */
static void
test_http_semantics_issue_9_options(void **state)
{
    static const struct {
        int         line;
        const char *target, *allow;
    } cases[] = {
        { __LINE__, "*",                     ALLOW_ANY },
        { __LINE__, "/a.txt",                ALLOW_GET },
        { __LINE__, "/",                     ALLOW_GET },
        { __LINE__, "/no/such/file",         ALLOW_GET },
        { __LINE__, "/login",                ALLOW_POST },
        { __LINE__, "/register",             ALLOW_POST },
        { __LINE__, "/logout",               ALLOW_POST },
        { __LINE__, "/welcome",              ALLOW_GET },
        { __LINE__, "/welcome?x=1",          ALLOW_GET },
        { __LINE__, "/%6cogin",              ALLOW_POST },
        { __LINE__, "http://x/login",        ALLOW_POST },
        { __LINE__, "http://x",              ALLOW_ANY },
        { __LINE__, "http://x?q",            ALLOW_GET },
    };
    struct ws_server *ws = *state;
    struct http_resp r;
    struct http_conn c;

    start(ws);
    open_conn(ws, &c);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        req(&c, "OPTIONS", cases[i].target, NULL, &r);
        if (r.status != 200)
            fail_msg("line %d: OPTIONS %s: %d, want 200", cases[i].line,
                     cases[i].target, r.status);
        assert_header(&r, "Allow", cases[i].allow, cases[i].line);
        assert_header(&r, "Content-Length", "0", cases[i].line);
        assert_int_equal(r.body_len, 0);
        assert_true(r.keepalive);
        http_resp_free(&r);
    }
    /* the same connection still serves */
    req(&c, "GET", "/a.txt", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, A_TEXT);
    http_resp_free(&r);

    /* a body sent with OPTIONS is dropped; the next request follows it */
    {
        static const char both[] =
            "OPTIONS * HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
            "Content-Length: 5\r\n\r\nhello"
            "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n";
        assert_int_equal(http_send(&c, both, sizeof(both) - 1), HTTP_OK);
        assert_int_equal(http_read_response(&c, false, &r), HTTP_OK);
        assert_int_equal(r.status, 200);
        assert_header(&r, "Allow", ALLOW_ANY, __LINE__);
        http_resp_free(&r);
        assert_int_equal(http_read_response(&c, false, &r), HTTP_OK);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, A_TEXT);
        http_resp_free(&r);
    }

    /* a 405 names OPTIONS too: the methods of the path are the same */
    req(&c, "POST", "/a.txt", "Content-Length: 0\r\n", &r);
    assert_int_equal(r.status, 405);
    assert_header(&r, "Allow", ALLOW_GET, __LINE__);
    http_resp_free(&r);
    req(&c, "GET", "/login", NULL, &r);
    assert_int_equal(r.status, 405);
    assert_header(&r, "Allow", ALLOW_POST, __LINE__);
    http_resp_free(&r);
    http_conn_close(&c);

    /* "*" is for OPTIONS alone; an undecodable path is still 400 */
    {
        static const struct raw_case bad[] = {
            RAW("GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            RAW("OPTIONS /a%00b HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            RAW("OPTIONS * HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
                200),
        };
        run_raw_cases(ws, bad, sizeof(bad) / sizeof(bad[0]));
    }
    ws->passed = true;
}

/* ---- 9.4: CONNECT ---- */

/* A well-formed CONNECT (authority-form host:port) is a method we do not
 * implement: 501. CONNECT with any other target is malformed: 400. */
static void
test_http_semantics_issue_9_connect(void **state)
{
    static const struct raw_case cases[] = {
        RAW("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n"
            "\r\n", 501),
        RAW("CONNECT 127.0.0.1:80 HTTP/1.1\r\nHost: 127.0.0.1:80\r\n\r\n",
            501),
        RAW("CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n", 501),
        RAW("CONNECT / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        RAW("CONNECT /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        RAW("CONNECT * HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        RAW("CONNECT http://x:80/ HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        RAW("CONNECT example.com HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        RAW("CONNECT example.com:https HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        RAW("CONNECT user@example.com:443 HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    };
    struct ws_server *ws = *state;
    struct http_resp r;

    start(ws);
    run_raw_cases(ws, cases, sizeof(cases) / sizeof(cases[0]));
    assert_int_equal(http_get(ws->port, "/a.txt", &r), HTTP_OK);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    ws->passed = true;
}

int
main(int argc, char **argv)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, ws_fixture_teardown)
    const struct CMUnitTest tests[] = {
        T(test_http_semantics_issue_9_host_syntax),
        T(test_http_semantics_issue_9_http_1_2_as_1_1),
        T(test_http_semantics_issue_9_options),
        T(test_http_semantics_issue_9_connect),
    };
#undef T

    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
