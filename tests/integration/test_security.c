/* test_security.c - login security (issue 11) against the real server and
 * a private Redis, over real sockets:
 * - cross-site POSTs to /register, /login, /logout get 403 and change
 *   nothing in Redis; same-origin ones and ones without Origin or Referer
 *   work;
 * - failed logins are throttled per (client address, username) and per
 *   client address; another address still logs in (client sockets bound
 *   to 127.0.0.2, 127.0.0.3, ...);
 * - security headers on a static page, an error page and /welcome;
 * - a new token on every login, logout deletes the session in Redis,
 *   "log out everywhere" ends the sessions of every client, at most
 *   SESSIONS_MAX live sessions per user;
 * - no page of the site needs JavaScript for a link.
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define WAIT_MS       20000     /* bounds a hang only */
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define SESSIONS_MAX  64        /* SESSION_PER_USER_MAX in session.c */

/* ---- Setup ---- */

static void
fx_start(struct ws_redis_fx *f, const char *extra)
{
    char conf[2048], path[WS_PATH_MAX + 32];

    snprintf(path, sizeof(path), "%s/index.html", f->ws.root);
    assert_int_equal(ws_write_text(path, "<!DOCTYPE html><h1>index</h1>\n"), 0);
    snprintf(path, sizeof(path), "%s/style.css", f->ws.root);
    assert_int_equal(ws_write_text(path, "body { color: black }\n"), 0);
    assert_int_equal(redis_start(&f->rs, f->ws.dir, NULL), 0);
    snprintf(conf, sizeof(conf),
             "processes = 2\n"
             "log_level = info\n"
             "redis_port = %d\n"
             "%s", f->rs.port, extra != NULL ? extra : "");
    assert_int_equal(ws_start_conf(&f->ws, conf), 0);
}

/* ---- HTTP from a chosen loopback address ---- */

/* METHOD PATH from SRC with header lines HDRS (may be NULL) and, unless
 * NULL, a form BODY; the answer in *R (free it). */
static void
req(int port, const char *src, const char *method, const char *path,
    const char *hdrs, const char *body, struct http_resp *r)
{
    if (http_request_once(port, src, method, path, hdrs, body, r) != HTTP_OK)
        fail_msg("%s %s from %s: %s", method, path, src, http_strerror());
}

static int
status_of(int port, const char *src, const char *method, const char *path,
          const char *hdrs, const char *body)
{
    struct http_resp r;
    int st;

    req(port, src, method, path, hdrs, body, &r);
    st = r.status;
    http_resp_free(&r);
    return st;
}

/* POST /login; on 303 the token goes to TOKEN (65 bytes) if not NULL. */
static int
login(int port, const char *src, const char *hdrs, const char *user,
      const char *pass, char *token)
{
    struct http_resp r;
    char body[256];
    const char *cookie;
    int st;

    snprintf(body, sizeof(body), "username=%s&password=%s", user, pass);
    req(port, src, "POST", "/login", hdrs, body, &r);
    st = r.status;
    cookie = http_header(&r, "Set-Cookie");
    if (st == 303) {
        assert_non_null(cookie);
        assert_true(strncmp(cookie, "sid=", 4) == 0);
        assert_true(strlen(cookie) > 4 + 64 && cookie[4 + 64] == ';');
        if (token != NULL) {
            memcpy(token, cookie + 4, 64);
            token[64] = '\0';
        }
    } else if (cookie != NULL) {
        fail_msg("login answered %d with Set-Cookie: %s", st, cookie);
    }
    http_resp_free(&r);
    return st;
}

static int
do_register(int port, const char *hdrs, const char *user, const char *pass)
{
    char body[256];

    snprintf(body, sizeof(body), "username=%s&password=%s", user, pass);
    return status_of(port, "127.0.0.1", "POST", "/register", hdrs, body);
}

static void
cookie_hdr(char *out, size_t len, const char *token, const char *more)
{
    snprintf(out, len, "Cookie: sid=%s\r\n%s", token, more ? more : "");
}

static int
welcome(int port, const char *token, struct http_resp *r)
{
    char hdr[256];

    cookie_hdr(hdr, sizeof(hdr), token, NULL);
    req(port, "127.0.0.1", "GET", "/welcome", hdr, NULL, r);
    return r->status;
}

static int
welcome_status(int port, const char *token)
{
    struct http_resp r;
    int st = welcome(port, token, &r);

    http_resp_free(&r);
    return st;
}

/* ---- Redis ---- */

static long long
redis_num(const struct ws_redis_fx *f, const char *cmd, const char *key)
{
    struct redis_reply rep;
    long long v;

    assert_int_equal(redis_query(f->rs.port, NULL, &rep, cmd, key, NULL), 0);
    if (rep.type != ':')
        fail_msg("%s %s: reply type %c", cmd, key, rep.type);
    v = rep.integer;
    redis_reply_free(&rep);
    return v;
}

/* The number stored at KEY (0 when there is none). */
static long long
rnum(const struct ws_redis_fx *f, const char *key)
{
    struct redis_reply rep;
    long long v = 0;

    assert_int_equal(redis_query(f->rs.port, NULL, &rep, "GET", key, NULL), 0);
    assert_int_equal(rep.type, '$');
    if (rep.str != NULL)
        v = strtoll(rep.str, NULL, 10);
    redis_reply_free(&rep);
    return v;
}

static bool
rexists(const struct ws_redis_fx *f, const char *key)
{
    return redis_num(f, "EXISTS", key) == 1;
}

/* How many keys match PATTERN (a test-only Redis: KEYS is fine). */
static size_t
rcount(const struct ws_redis_fx *f, const char *pattern)
{
    struct redis_reply rep;
    size_t n;

    assert_int_equal(redis_query(f->rs.port, NULL, &rep, "KEYS", pattern,
                                 NULL), 0);
    assert_int_equal(rep.type, '*');
    n = rep.nelem;
    redis_reply_free(&rep);
    return n;
}

static bool
session_alive(const struct ws_redis_fx *f, const char *token)
{
    char key[128];

    snprintf(key, sizeof(key), "session:%s", token);
    return rexists(f, key);
}

/* ---- 1. Cross-site POSTs ---- */

/* Every way a browser names another origin, for each of the three
 * routes: 403, a page that says so, no cookie, nothing changed. */
static void
test_security_cross_site_refused(void **state)
{
    struct ws_redis_fx *f = *state;
    char own[128], token[65], hdr[512];
    const char *bad[] = {
        "Origin: http://evil.example\r\n",
        "Origin: null\r\n",
        "Referer: http://evil.example/page.html\r\n",
        NULL,       /* the right host on another port: set below */
        NULL,       /* the right host, https: another scheme */
    };
    char other_port[128], other_scheme[128];
    int port;

    fx_start(f, NULL);
    port = f->ws.port;
    snprintf(own, sizeof(own), "Origin: http://127.0.0.1:%d\r\n", port);
    snprintf(other_port, sizeof(other_port), "Origin: http://127.0.0.1:%d\r\n",
             port == 65535 ? 1 : port + 1);
    snprintf(other_scheme, sizeof(other_scheme),
             "Origin: https://127.0.0.1:%d\r\n", port);
    bad[3] = other_port;
    bad[4] = other_scheme;

    assert_int_equal(do_register(port, NULL, "alice", "alices-password"), 303);
    assert_int_equal(login(port, "127.0.0.1", NULL, "alice",
                           "alices-password", token), 303);
    assert_int_equal(rcount(f, "session:*"), 1);

    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        struct http_resp r;

        /* register: no account */
        req(port, "127.0.0.1", "POST", "/register", bad[i],
            "username=mallory&password=mallorys-password", &r);
        if (r.status != 403)
            fail_msg("register with %s: %d, want 403", bad[i], r.status);
        assert_null(http_header(&r, "Set-Cookie"));
        assert_non_null(strstr(r.body, "403"));
        assert_non_null(strstr(http_header(&r, "Content-Type"), "text/html"));
        http_resp_free(&r);
        assert_false(rexists(f, "user:mallory"));

        /* login: no session, no cookie, no failure counted */
        if (login(port, "127.0.0.1", bad[i], "alice", "alices-password",
                  NULL) != 403)
            fail_msg("login with %s was not refused", bad[i]);
        assert_int_equal(rcount(f, "session:*"), 1);
        assert_int_equal(rcount(f, "login:fail:*"), 0);

        /* logout with the victim's cookie: the session lives on and the
         * cookie is not cleared */
        cookie_hdr(hdr, sizeof(hdr), token, bad[i]);
        req(port, "127.0.0.1", "POST", "/logout", hdr, "", &r);
        if (r.status != 403)
            fail_msg("logout with %s: %d, want 403", bad[i], r.status);
        assert_null(http_header(&r, "Set-Cookie"));
        http_resp_free(&r);
        assert_true(session_alive(f, token));
        assert_int_equal(welcome_status(port, token), 200);
    }
    /* the refusal is logged */
    assert_true(ws_wait_file_contains(f->ws.error_log,
                                      "cross-site POST /login refused", WAIT_MS));
    f->ws.passed = true;
}

/* Same origin (Origin, or Referer without it, any case and the default
 * port spelled out or not) and no header at all: all work. */
static void
test_security_same_origin_allowed(void **state)
{
    struct ws_redis_fx *f = *state;
    char own[128], ref[160], token[65], hdr[512];
    struct http_resp r;
    int port;

    fx_start(f, NULL);
    port = f->ws.port;
    snprintf(own, sizeof(own), "Origin: HTTP://127.0.0.1:%d\r\n", port);
    snprintf(ref, sizeof(ref), "Referer: http://127.0.0.1:%d/login.html?x\r\n",
             port);

    assert_int_equal(do_register(port, own, "bob", "bobs-password"), 303);
    assert_true(rexists(f, "user:bob"));
    assert_int_equal(do_register(port, ref, "bob2", "bobs-password"), 303);
    assert_true(rexists(f, "user:bob2"));

    assert_int_equal(login(port, "127.0.0.1", own, "bob", "bobs-password",
                           token), 303);
    assert_true(session_alive(f, token));
    cookie_hdr(hdr, sizeof(hdr), token, own);
    req(port, "127.0.0.1", "POST", "/logout", hdr, "", &r);
    assert_int_equal(r.status, 303);
    assert_non_null(strstr(http_header(&r, "Set-Cookie"), "Max-Age=0"));
    http_resp_free(&r);
    assert_false(session_alive(f, token));

    /* Referer only */
    assert_int_equal(login(port, "127.0.0.1", ref, "bob", "bobs-password",
                           token), 303);
    cookie_hdr(hdr, sizeof(hdr), token, ref);
    assert_int_equal(status_of(port, "127.0.0.1", "POST", "/logout", hdr, ""),
                     303);
    assert_false(session_alive(f, token));

    /* neither header (curl, scripts): allowed, and logout with only the
     * cookie as proof still deletes the session in Redis */
    assert_int_equal(do_register(port, NULL, "carol", "carols-password"), 303);
    assert_int_equal(login(port, "127.0.0.1", NULL, "carol",
                           "carols-password", token), 303);
    assert_true(session_alive(f, token));
    cookie_hdr(hdr, sizeof(hdr), token, NULL);
    assert_int_equal(status_of(port, "127.0.0.1", "POST", "/logout", hdr, ""),
                     303);
    assert_false(session_alive(f, token));
    assert_int_equal(welcome_status(port, token), 303);
    f->ws.passed = true;
}

/* ---- 2. Throttling ---- */

static void
assert_throttled(int port, const char *src, const char *user,
                 const char *pass, long window_s)
{
    struct http_resp r;
    char body[256];
    const char *ra;
    long secs;

    snprintf(body, sizeof(body), "username=%s&password=%s", user, pass);
    req(port, src, "POST", "/login", NULL, body, &r);
    if (r.status != 429)
        fail_msg("login %s from %s: %d, want 429", user, src, r.status);
    ra = http_header(&r, "Retry-After");
    assert_non_null(ra);
    secs = strtol(ra, NULL, 10);
    if (secs < 1 || secs > window_s)
        fail_msg("Retry-After %s, want 1..%ld", ra, window_s);
    assert_null(http_header(&r, "Set-Cookie"));
    http_resp_free(&r);
}

/* Six failures for u from 127.0.0.2: the sixth is refused, and so is the
 * right password from there; from 127.0.0.3 u logs in. */
static void
test_security_throttle_per_address(void **state)
{
    struct ws_redis_fx *f = *state;
    int port;

    fx_start(f, "login_max_failures = 5\nlogin_failure_window = 15m\n");
    port = f->ws.port;
    assert_int_equal(do_register(port, NULL, "uma", "the-right-password"), 303);
    for (int i = 1; i <= 5; i++) {
        int st = login(port, "127.0.0.2", NULL, "uma", "wrong-password", NULL);
        if (st != 401)
            fail_msg("failure %d: %d, want 401", i, st);
    }
    assert_throttled(port, "127.0.0.2", "uma", "wrong-password", 900);
    assert_throttled(port, "127.0.0.2", "uma", "the-right-password", 900);
    assert_int_equal(rnum(f, "login:fail:127.0.0.2/uma"), 5);

    /* the owner, elsewhere */
    assert_int_equal(login(port, "127.0.0.3", NULL, "uma",
                           "the-right-password", NULL), 303);
    /* and still refused where the guessing came from */
    assert_throttled(port, "127.0.0.2", "uma", "the-right-password", 900);
    /* a success elsewhere did not reset the guesser's count */
    assert_true(rexists(f, "login:fail:127.0.0.2/uma"));
    assert_false(rexists(f, "login:fail:127.0.0.3/uma"));
    f->ws.passed = true;
}

/* One address trying many usernames (password spraying) is stopped by
 * the per-address count (4 x login_max_failures) before any one name is;
 * its successful logins do not give the count back... only its own
 * attempt. Another address is not affected. */
static void
test_security_throttle_spraying(void **state)
{
    struct ws_redis_fx *f = *state;
    char user[32];
    int port;

    fx_start(f, "login_max_failures = 2\nlogin_failure_window = 10m\n");
    port = f->ws.port;
    assert_int_equal(do_register(port, NULL, "victim", "victims-password"), 303);
    assert_int_equal(do_register(port, NULL, "me-myself", "my-own-password"),
                     303);
    /* 8 = 4 x 2 failures over 8 names (each under its own limit of 2) */
    for (int i = 0; i < 8; i++) {
        snprintf(user, sizeof(user), "name%d", i);
        if (login(port, "127.0.0.4", NULL, user, "guess-guess", NULL) != 401)
            fail_msg("failure %d was not a 401", i);
        /* the attacker's own account in between gives nothing back */
        if (i == 3)
            assert_int_equal(login(port, "127.0.0.4", NULL, "me-myself",
                                   "my-own-password", NULL), 303);
    }
    assert_int_equal(rnum(f, "login:fail:127.0.0.4"), 8);
    assert_throttled(port, "127.0.0.4", "victim", "victims-password", 600);
    assert_throttled(port, "127.0.0.4", "me-myself", "my-own-password", 600);
    assert_int_equal(login(port, "127.0.0.5", NULL, "victim",
                           "victims-password", NULL), 303);
    f->ws.passed = true;
}

/* Once the window has passed, the address may try again (polled: no
 * fixed sleep; the deadline only bounds a hang). */
static void
test_security_throttle_window_ends(void **state)
{
    struct ws_redis_fx *f = *state;
    int64_t deadline;
    int port, st;

    fx_start(f, "login_max_failures = 1\nlogin_failure_window = 1s\n");
    port = f->ws.port;
    assert_int_equal(do_register(port, NULL, "walt", "walts-password"), 303);
    assert_int_equal(login(port, "127.0.0.6", NULL, "walt", "nope-nope", NULL),
                     401);
    assert_throttled(port, "127.0.0.6", "walt", "walts-password", 1);
    deadline = ws_now_ms() + WAIT_MS;
    do {
        st = login(port, "127.0.0.6", NULL, "walt", "walts-password", NULL);
        if (st != 303 && st != 429)
            fail_msg("login while waiting: %d", st);
        if (st == 429)
            ws_sleep_ms(100);
    } while (st == 429 && ws_now_ms() < deadline);
    assert_int_equal(st, 303);
    f->ws.passed = true;
}

/* ---- 3. Security headers ---- */

static void
assert_html_headers(const struct http_resp *r, const char *what)
{
    const char *csp = http_header(r, "Content-Security-Policy");

    if (http_header(r, "X-Content-Type-Options") == NULL
        || strcmp(http_header(r, "X-Content-Type-Options"), "nosniff") != 0)
        fail_msg("%s: no X-Content-Type-Options: nosniff", what);
    if (http_header(r, "X-Frame-Options") == NULL
        || strcmp(http_header(r, "X-Frame-Options"), "DENY") != 0)
        fail_msg("%s: no X-Frame-Options: DENY", what);
    if (http_header(r, "Referrer-Policy") == NULL
        || strcmp(http_header(r, "Referrer-Policy"), "same-origin") != 0)
        fail_msg("%s: no Referrer-Policy: same-origin", what);
    if (csp == NULL)
        fail_msg("%s: no Content-Security-Policy", what);
    assert_non_null(strstr(csp, "default-src 'self'"));
    assert_non_null(strstr(csp, "frame-ancestors 'none'"));
    assert_non_null(strstr(csp, "form-action 'self'"));
    assert_null(strstr(csp, "unsafe-inline"));
}

static void
test_security_headers(void **state)
{
    struct ws_redis_fx *f = *state;
    char token[65];
    struct http_resp r;
    int port;

    fx_start(f, NULL);
    port = f->ws.port;

    req(port, "127.0.0.1", "GET", "/index.html", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_html_headers(&r, "static page");
    http_resp_free(&r);

    req(port, "127.0.0.1", "GET", "/no-such-page", NULL, NULL, &r);
    assert_int_equal(r.status, 404);
    assert_html_headers(&r, "404 page");
    http_resp_free(&r);

    req(port, "127.0.0.1", "DELETE", "/index.html", NULL, NULL, &r);
    assert_true(r.status == 405 || r.status == 501);
    assert_html_headers(&r, "405/501 page");
    http_resp_free(&r);

    assert_int_equal(do_register(port, NULL, "hedda", "heddas-password"), 303);
    assert_int_equal(login(port, "127.0.0.1", NULL, "hedda", "heddas-password",
                           token), 303);
    assert_int_equal(welcome(port, token, &r), 200);
    assert_html_headers(&r, "/welcome");
    http_resp_free(&r);

    /* not HTML: nosniff only */
    req(port, "127.0.0.1", "GET", "/style.css", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(http_header(&r, "X-Content-Type-Options"), "nosniff");
    assert_null(http_header(&r, "Content-Security-Policy"));
    assert_null(http_header(&r, "X-Frame-Options"));
    http_resp_free(&r);
    /* a redirect too (303 has no HTML body) */
    req(port, "127.0.0.1", "GET", "/welcome", NULL, NULL, &r);
    assert_int_equal(r.status, 303);
    assert_string_equal(http_header(&r, "X-Content-Type-Options"), "nosniff");
    http_resp_free(&r);
    f->ws.passed = true;
}

static void
test_security_headers_off(void **state)
{
    struct ws_redis_fx *f = *state;
    struct http_resp r;

    fx_start(f, "security_headers = off\n");
    req(f->ws.port, "127.0.0.1", "GET", "/index.html", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_null(http_header(&r, "X-Content-Type-Options"));
    assert_null(http_header(&r, "Content-Security-Policy"));
    http_resp_free(&r);
    f->ws.passed = true;
}

/* ---- 4. Sessions ---- */

/* Every login makes a new token, and each stays valid on its own. */
static void
test_security_new_token_each_login(void **state)
{
    struct ws_redis_fx *f = *state;
    char a[65], b[65];
    int port;

    fx_start(f, NULL);
    port = f->ws.port;
    assert_int_equal(do_register(port, NULL, "nina", "ninas-password"), 303);
    assert_int_equal(login(port, "127.0.0.1", NULL, "nina", "ninas-password",
                           a), 303);
    assert_int_equal(login(port, "127.0.0.1", NULL, "nina", "ninas-password",
                           b), 303);
    assert_string_not_equal(a, b);
    assert_int_equal(welcome_status(port, a), 200);
    assert_int_equal(welcome_status(port, b), 200);
    assert_int_equal(redis_num(f, "ZCARD", "sessions:nina"), 2);
    f->ws.passed = true;
}

/* Two clients, one user: "log out everywhere" from one ends both; a plain
 * logout ends only its own. */
static void
test_security_logout_everywhere(void **state)
{
    struct ws_redis_fx *f = *state;
    char a[65], b[65], c[65], d[65], hdr[512];
    struct http_resp r;
    int port;

    fx_start(f, NULL);
    port = f->ws.port;
    assert_int_equal(do_register(port, NULL, "otto", "ottos-password"), 303);
    assert_int_equal(login(port, "127.0.0.2", NULL, "otto", "ottos-password",
                           a), 303);
    assert_int_equal(login(port, "127.0.0.3", NULL, "otto", "ottos-password",
                           b), 303);
    assert_int_equal(welcome(port, a, &r), 200);
    assert_non_null(strstr(r.body, "<strong>2</strong>"));
    assert_non_null(strstr(r.body, "name=\"all\""));       /* the button */
    http_resp_free(&r);

    /* plain logout: only this one */
    assert_int_equal(login(port, "127.0.0.2", NULL, "otto", "ottos-password",
                           c), 303);
    assert_int_equal(login(port, "127.0.0.3", NULL, "otto", "ottos-password",
                           d), 303);
    cookie_hdr(hdr, sizeof(hdr), c, NULL);
    assert_int_equal(status_of(port, "127.0.0.2", "POST", "/logout", hdr, ""),
                     303);
    assert_false(session_alive(f, c));
    assert_true(session_alive(f, d));
    assert_int_equal(redis_num(f, "ZCARD", "sessions:otto"), 3);

    /* everywhere, from a's client */
    cookie_hdr(hdr, sizeof(hdr), a, NULL);
    req(port, "127.0.0.2", "POST", "/logout", hdr, "all=1", &r);
    assert_int_equal(r.status, 303);
    assert_non_null(strstr(http_header(&r, "Set-Cookie"), "Max-Age=0"));
    http_resp_free(&r);
    assert_false(session_alive(f, a));
    assert_false(session_alive(f, b));
    assert_false(session_alive(f, d));
    assert_false(rexists(f, "sessions:otto"));
    assert_int_equal(welcome_status(port, a), 303);
    assert_int_equal(welcome_status(port, b), 303);
    assert_int_equal(welcome_status(port, d), 303);
    /* the account itself stays */
    assert_int_equal(login(port, "127.0.0.3", NULL, "otto", "ottos-password",
                           a), 303);
    f->ws.passed = true;
}

/* Expired sessions leave the user's set, and at most SESSIONS_MAX live:
 * one more login ends the oldest. */
static void
test_security_session_set_bounded(void **state)
{
    struct ws_redis_fx *f = *state;
    char first[65], tok[65], key[128];
    int port;

    fx_start(f, "hash_queue_max = 1000\n");
    port = f->ws.port;
    assert_int_equal(do_register(port, NULL, "many", "manys-password"), 303);
    assert_int_equal(login(port, "127.0.0.1", NULL, "many", "manys-password",
                           first), 303);
    for (int i = 1; i < SESSIONS_MAX; i++)
        assert_int_equal(login(port, "127.0.0.1", NULL, "many",
                               "manys-password", tok), 303);
    assert_int_equal(redis_num(f, "ZCARD", "sessions:many"), SESSIONS_MAX);
    assert_true(session_alive(f, first));

    /* one expires on its own: the next login prunes it */
    snprintf(key, sizeof(key), "session:%s", tok);
    assert_int_equal(redis_num(f, "DEL", key), 1);
    assert_int_equal(login(port, "127.0.0.1", NULL, "many", "manys-password",
                           tok), 303);
    assert_int_equal(redis_num(f, "ZCARD", "sessions:many"), SESSIONS_MAX);
    assert_true(session_alive(f, first));

    /* one more: the oldest goes */
    assert_int_equal(login(port, "127.0.0.1", NULL, "many", "manys-password",
                           tok), 303);
    assert_int_equal(redis_num(f, "ZCARD", "sessions:many"), SESSIONS_MAX);
    assert_false(session_alive(f, first));
    assert_int_equal(welcome_status(port, first), 303);
    assert_int_equal(welcome_status(port, tok), 200);
    f->ws.passed = true;
}

/* ---- 5. No link needs JavaScript ---- */

static void
test_security_pages_without_script_links(void **state)
{
    const char *dirs[] = { "html" };     /* error pages: unit-tested */

    (void) state;
    for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
        char dir[WS_PATH_MAX];
        struct dirent *e;
        DIR *d;
        int pages = 0;

        snprintf(dir, sizeof(dir), "%s/%s", ws_src(), dirs[i]);
        d = opendir(dir);
        assert_non_null(d);
        while ((e = readdir(d)) != NULL) {
            char path[WS_PATH_MAX + 256];
            size_t n = strlen(e->d_name);
            char *text;

            if (n < 5 || strcmp(e->d_name + n - 5, ".html") != 0)
                continue;
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            text = ws_read_file(path, NULL);
            assert_non_null(text);
            if (strstr(text, "javascript:") != NULL || strstr(text, "<script")
                || strstr(text, " onclick=") != NULL)
                fail_msg("%s needs JavaScript", path);
            free(text);
            pages++;
        }
        closedir(d);
        assert_true(pages > 0);
    }
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, ws_redis_fixture_setup, \
                                              ws_redis_fixture_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_security_cross_site_refused),
        T(test_security_same_origin_allowed),
        T(test_security_throttle_per_address),
        T(test_security_throttle_spraying),
        T(test_security_throttle_window_ends),
        T(test_security_headers),
        T(test_security_headers_off),
        T(test_security_new_token_each_login),
        T(test_security_logout_everywhere),
        T(test_security_session_set_bounded),
        cmocka_unit_test(test_security_pages_without_script_links),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
