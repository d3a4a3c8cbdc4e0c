/* test_session.c - session routes against a private redis-server; valgrind variant.
 * SPDX-License-Identifier: MIT */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define SESSION_TTL_S       600
#define REDIS_TIMEOUT_MS    500
#define RECONNECT_MAX_MS    1000
#define RECOVER_MS          30000    /* bounds a hang; backoff is <= 1 s */
#define FAIL_LIMIT          5
#define FAIL_WINDOW_S       900
#define FROZEN_TIMEOUT_MS   2000     /* redis_timeout while Redis hangs */
#define EARLY_SLACK_MS      200      /* answered this much before it: a bug */
#define PATIENT_TIMEOUT_MS  120000   /* a redis_timeout no wait here reaches */

/* The valgrind variant (argument --valgrind or WS_SESSION_VALGRIND=1). */
#define VG_READY_MS         60000
#define VG_IO_S             60
#define VG_REDIS_TIMEOUT_MS 10000
#define VG_EXIT_MS          120000

static bool g_valgrind;
static int  g_io_s = WS_IO_TIMEOUT_S;

/* ---- Fixture ---- */

struct fx {
    struct ws_server    ws;
    struct ws_server    ws2;        /* a second server, when a test needs one */
    struct redis_server rs;
    const char         *rpass;      /* requirepass of rs, NULL for none */
    bool                frozen;     /* rs got SIGSTOP and no SIGCONT yet */
};

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    if (f == NULL || ws_init(&f->ws) == -1) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static void
dump_redis_log(const struct redis_server *rs)
{
    size_t len;
    char *text;

    if (rs->log[0] == '\0')
        return;
    text = ws_read_file(rs->log, &len);
    if (text != NULL && len > 0)
        fprintf(stderr, "test: --- %s (tail):\n%s\n", rs->log,
                len > 3000 ? text + len - 3000 : text);
    free(text);
}

static int
teardown(void **state)
{
    struct fx *f = *state;
    int rc = 0;

    if (f->frozen && f->rs.pid > 0)
        kill(f->rs.pid, SIGCONT);
    if (f->ws.running)
        ws_stop(&f->ws);
    if (f->ws2.running)
        ws_stop(&f->ws2);
    if (!f->ws.passed)
        dump_redis_log(&f->rs);
    redis_stop(&f->rs);
    if (f->ws2.dir[0] != '\0' && ws_cleanup(&f->ws2) == -1)
        rc = -1;
    if (ws_cleanup(&f->ws) == -1)
        rc = -1;
    free(f);
    return rc;
}

/* ---- Processes the test starts itself ---- */

static bool
redis_pings(int port)
{
    struct redis_reply rep;
    int fd = redis_connect(port);
    bool ok;

    if (fd == -1)
        return false;
    ok = redis_command(fd, &rep, "PING", NULL) == 0
         && (rep.type == '+' || rep.type == '-');
    redis_reply_free(&rep);
    close(fd);
    return ok;
}

/* redis_start() on a fixed PORT (the harness picks a free one): used to
 * bring Redis back where the server expects it. Returns 0 or -1. */
static int
redis_start_port(struct redis_server *r, const char *dir, int port,
                 const char *pass)
{
    const char *prog = getenv("REDIS_SERVER");
    char portstr[16];
    char *argv[24];
    int n = 0, status;
    int64_t deadline;

    if (prog == NULL || *prog == '\0')
        prog = "/usr/bin/redis-server";
    memset(r, 0, sizeof(*r));
    r->port = port;
    snprintf(r->dir, sizeof(r->dir), "%s", dir);
    snprintf(r->log, sizeof(r->log), "%s/redis-%d.log", dir, port);
    snprintf(portstr, sizeof(portstr), "%d", port);
    argv[n++] = (char *) prog;
    argv[n++] = "--port";       argv[n++] = portstr;
    argv[n++] = "--bind";       argv[n++] = "127.0.0.1";
    argv[n++] = "--save";       argv[n++] = "";
    argv[n++] = "--appendonly"; argv[n++] = "no";
    argv[n++] = "--daemonize";  argv[n++] = "no";
    argv[n++] = "--dir";        argv[n++] = (char *) dir;
    if (pass != NULL) {
        argv[n++] = "--requirepass";
        argv[n++] = (char *) pass;
    }
    argv[n] = NULL;
    r->pid = ws_spawn_logged(argv, r->log);
    if (r->pid == -1) {
        r->pid = 0;
        return -1;
    }
    deadline = ws_now_ms() + 10000;
    while (!redis_pings(port)) {
        if (waitpid(r->pid, &status, WNOHANG) == r->pid) {
            fprintf(stderr, "test: redis-server on %d exited (code %d)\n",
                    port, ws_exit_code(status));
            r->pid = 0;
            return -1;
        }
        if (ws_now_ms() >= deadline) {
            fprintf(stderr, "test: redis-server on %d not answering\n", port);
            redis_stop(r);
            return -1;
        }
        ws_sleep_ms(20);
    }
    return 0;
}

/* $VALGRIND, else /usr/bin/valgrind. */
static const char *
vg_path(void)
{
    const char *vg = getenv("VALGRIND");

    return vg != NULL && *vg != '\0' ? vg : "/usr/bin/valgrind";
}

/* Why the valgrind variant cannot run here (into WHY), or NULL when it
 * can: valgrind is missing, or the binary carries a sanitizer runtime
 * valgrind cannot host (every -DSANITIZE=address build). main() then exits
 * WS_EXIT_SKIP, which ctest reports as Skipped, not Passed. */
static const char *
vg_cannot_run(char *why, size_t len)
{
    const char *vg = vg_path(), *san;

    if (access(vg, X_OK) == -1) {
        snprintf(why, len, "%s: %s (tools/test.sh installs valgrind)", vg,
                 strerror(errno));
        return why;
    }
    san = ws_bin_sanitizer(ws_bin());
    if (san != NULL) {
        snprintf(why, len, "%s is built with %s, which valgrind cannot run",
                 ws_bin(), san);
        return why;
    }
    return NULL;
}

/* Start the server under valgrind, with room for valgrind's slow start.
 * Logs go to DIR/vg.<pid>.log, one per process. */
static int
vg_start(struct ws_server *ws)
{
    const char *vg = vg_path();
    char logopt[WS_PATH_MAX + 32];

    snprintf(logopt, sizeof(logopt), "--log-file=%s/vg.%%p.log", ws->dir);
    {
        const char *prefix[] = { vg, "--leak-check=full",
                                 "--errors-for-leak-kinds=definite",
                                 "--error-exitcode=99", logopt, NULL };
        return ws_start_wrapped(ws, prefix, NULL, VG_READY_MS);
    }
}

/* The server's config: this fixture's Redis, two workers, short Redis
 * deadlines, then MORE (which may override nothing the base sets). */
static void
fx_conf(const struct fx *f, char *out, size_t len, int redis_timeout_ms,
        const char *more)
{
    snprintf(out, len,
             "processes = 2\n"
             "log_level = info\n"
             "redis_port = %d\n"
             "redis_timeout = %dms\n"
             "redis_reconnect_min = 200ms\n"
             "redis_reconnect_max = %dms\n"
             "session_ttl = %ds\n"
             "%s",
             f->rs.port, redis_timeout_ms, RECONNECT_MAX_MS, SESSION_TTL_S,
             more != NULL ? more : "");
}

/* Start Redis (EXTRA: NULL or argv-style options) and the server. */
static void
fx_start(struct fx *f, const char *rpass, const char *more,
         int redis_timeout_ms)
{
    const char *extra[] = { "--requirepass", rpass, NULL };
    char conf[2048], index[WS_PATH_MAX + 32];

    snprintf(index, sizeof(index), "%s/index.html", f->ws.root);
    assert_int_equal(ws_write_text(index, "<h1>static index</h1>\n"), 0);
    snprintf(index, sizeof(index), "%s/login.html", f->ws.root);
    assert_int_equal(ws_write_text(index, "<h1>login page</h1>\n"), 0);

    f->rpass = rpass;
    assert_int_equal(redis_start(&f->rs, f->ws.dir,
                                 rpass != NULL ? extra : NULL), 0);
    fx_conf(f, conf, sizeof(conf), redis_timeout_ms, more);
    if (g_valgrind) {
        assert_int_equal(ws_write_config(&f->ws, conf), 0);
        assert_int_equal(vg_start(&f->ws), 0);
    } else {
        assert_int_equal(ws_start_conf(&f->ws, conf), 0);
    }
}

/* ---- HTTP helpers ---- */

#define REQ_OK(expr)                                                     \
    do {                                                                 \
        int req_rc_ = (expr);                                            \
        if (req_rc_ != HTTP_OK) {                                        \
            print_error("line %d: request failed (%d): %s\n", __LINE__,  \
                        req_rc_, http_strerror());                       \
            fail();                                                      \
        }                                                                \
    } while (0)

#define ASSERT_STATUS(r, want)                                           \
    do {                                                                 \
        if ((r)->status != (want)) {                                     \
            print_error("line %d: status %d, want %d; body: %.300s\n",   \
                        __LINE__, (r)->status, (want),                   \
                        (r)->body ? (r)->body : "");                     \
            fail();                                                      \
        }                                                                \
    } while (0)

static int
io_open(struct http_conn *c, int port)
{
    struct timeval tv = { g_io_s, 0 };

    if (http_conn_open(c, port) == -1)
        return HTTP_ERR;
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    return HTTP_OK;
}

/* Send (do not read) a form POST with "Connection: close". */
static int
send_form(struct http_conn *c, const char *path, const char *body,
          const char *cookie)
{
    char extra[1024];
    int rc;

    snprintf(extra, sizeof(extra),
             "Content-Type: application/x-www-form-urlencoded\r\n"
             "Content-Length: %zu\r\nConnection: close\r\n%s%s%s",
             strlen(body), cookie ? "Cookie: " : "", cookie ? cookie : "",
             cookie ? "\r\n" : "");
    rc = http_send_request(c, "POST", path, extra);
    if (rc == HTTP_OK)
        rc = http_send(c, body, strlen(body));
    return rc;
}

/* POST a form on a new connection; R holds the response on HTTP_OK. */
static int
post_form(int port, const char *path, const char *body, const char *cookie,
          struct http_resp *r)
{
    struct http_conn c;
    int rc;

    memset(r, 0, sizeof(*r));
    if (io_open(&c, port) != HTTP_OK)
        return HTTP_ERR;
    rc = send_form(&c, path, body, cookie);
    if (rc == HTTP_OK)
        rc = http_read_response(&c, false, r);
    http_conn_close(&c);
    return rc;
}

/* METHOD PATH on a new connection, with a Cookie header if COOKIE. */
static int
request(int port, const char *method, const char *path, const char *cookie,
        struct http_resp *r)
{
    struct http_conn c;
    char extra[512];
    int rc;

    memset(r, 0, sizeof(*r));
    if (io_open(&c, port) != HTTP_OK)
        return HTTP_ERR;
    snprintf(extra, sizeof(extra), "Connection: close\r\n%s%s%s",
             cookie ? "Cookie: " : "", cookie ? cookie : "",
             cookie ? "\r\n" : "");
    rc = http_request(&c, method, path, extra, r);
    http_conn_close(&c);
    return rc;
}

/* application/x-www-form-urlencoded: unreserved bytes as is, space as '+',
 * everything else %XX. */
static void
form_encode(char *out, size_t cap, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;

    for (; *s != '\0' && o + 4 < cap; s++) {
        unsigned char ch = (unsigned char) *s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
            || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'
            || ch == '.' || ch == '~') {
            out[o++] = (char) ch;
        } else if (ch == ' ') {
            out[o++] = '+';
        } else {
            out[o++] = '%';
            out[o++] = hex[ch >> 4];
            out[o++] = hex[ch & 15];
        }
    }
    out[o] = '\0';
}

static void
user_body(char *out, size_t cap, const char *user, const char *pass)
{
    char u[256], p[1024];
    int n;

    form_encode(u, sizeof(u), user);
    form_encode(p, sizeof(p), pass);
    n = snprintf(out, cap, "username=%s&password=%s", u, p);
    if (n < 0 || (size_t) n >= cap)
        fail_msg("form body for %s does not fit in %zu bytes", user, cap);
}

/* POST /register; returns the status, fails the test on a transport error. */
static int
do_register(int port, const char *user, const char *pass)
{
    char body[2048];
    struct http_resp r;
    int status;

    user_body(body, sizeof(body), user, pass);
    REQ_OK(post_form(port, "/register", body, NULL, &r));
    status = r.status;
    if (status == 303) {
        const char *loc = http_header(&r, "Location");
        if (loc == NULL || strcmp(loc, "/login.html#created") != 0) {
            print_error("register %s: 303 to '%s', want /login.html#created\n", user,
                        loc ? loc : "(none)");
            http_resp_free(&r);
            fail();
        }
    }
    http_resp_free(&r);
    return status;
}

static bool
is_token(const char *s, size_t len)
{
    if (len != 64)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    }
    return true;
}

/* POST /login; on 303 checks Location and the cookie's exact attributes and
 * copies the session token into TOKEN (65 bytes). Returns the status. */
static int
do_login(int port, const char *user, const char *pass, char *token)
{
    char body[2048], want[160];
    struct http_resp r;
    const char *loc, *ck;
    int status;

    user_body(body, sizeof(body), user, pass);
    REQ_OK(post_form(port, "/login", body, NULL, &r));
    status = r.status;
    if (token != NULL)
        token[0] = '\0';
    if (status == 303) {
        loc = http_header(&r, "Location");
        ck = http_header(&r, "Set-Cookie");
        snprintf(want, sizeof(want), "; Path=/; HttpOnly; SameSite=Lax; "
                 "Max-Age=%d", SESSION_TTL_S);
        if (loc == NULL || strcmp(loc, "/welcome") != 0 || ck == NULL
            || strncmp(ck, "sid=", 4) != 0 || strlen(ck) < 68
            || !is_token(ck + 4, 64) || strcmp(ck + 68, want) != 0) {
            print_error("login %s: Location '%s', Set-Cookie '%s'; want "
                        "/welcome and sid=<64 hex>%s\n", user,
                        loc ? loc : "(none)", ck ? ck : "(none)", want);
            http_resp_free(&r);
            fail();
        }
        if (token != NULL) {
            memcpy(token, ck + 4, 64);
            token[64] = '\0';
        }
    } else if (status == 503 || status == 429) {
        if (http_header(&r, "Retry-After") == NULL) {
            print_error("login %s: %d without Retry-After\n", user, status);
            http_resp_free(&r);
            fail();
        }
    } else if (status == 401) {
        /* issue 9.6: RFC 9110 15.5.2 wants a challenge; the page stays */
        const char *ch = http_header(&r, "WWW-Authenticate");
        const char *ct = http_header(&r, "Content-Type");
        if (ch == NULL || strcmp(ch, "Form realm=\"webserver\"") != 0
            || ct == NULL || strncmp(ct, "text/html", 9) != 0
            || r.body_len == 0) {
            print_error("login %s: 401 with WWW-Authenticate '%s', "
                        "Content-Type '%s', %zu body bytes; want a Form "
                        "challenge and an HTML page\n", user,
                        ch ? ch : "(none)", ct ? ct : "(none)", r.body_len);
            http_resp_free(&r);
            fail();
        }
    }
    http_resp_free(&r);
    return status;
}

static int
get_welcome(int port, const char *token, struct http_resp *r)
{
    char cookie[128];

    if (token == NULL)
        return request(port, "GET", "/welcome", NULL, r);
    snprintf(cookie, sizeof(cookie), "sid=%s", token);
    return request(port, "GET", "/welcome", cookie, r);
}

static void
assert_redirect(const struct http_resp *r, const char *where, int line)
{
    const char *loc = http_header(r, "Location");

    if (r->status != 303 || loc == NULL || strcmp(loc, where) != 0) {
        print_error("line %d: %d to '%s', want 303 to %s\n", line, r->status,
                    loc ? loc : "(none)", where);
        fail();
    }
}

static void
assert_unavailable(const struct http_resp *r, int line)
{
    const char *ra = http_header(r, "Retry-After");

    if (r->status != 503 || ra == NULL || atoi(ra) <= 0) {
        print_error("line %d: status %d, Retry-After '%s'; want 503 with "
                    "Retry-After\n", line, r->status, ra ? ra : "(none)");
        fail();
    }
}

static void
assert_static_ok(int port)
{
    struct http_resp r;

    REQ_OK(request(port, "GET", "/index.html", NULL, &r));
    ASSERT_STATUS(&r, 200);
    assert_non_null(strstr(r.body, "static index"));
    http_resp_free(&r);
}

/* ---- Redis helpers ---- */

static long long
redis_int(const struct fx *f, const char *cmd, const char *key)
{
    struct redis_reply rep;
    long long v;

    assert_int_equal(redis_query(f->rs.port, f->rpass, &rep, cmd, key, NULL),
                     0);
    if (rep.type != ':') {
        print_error("%s %s: reply type '%c' %s\n", cmd, key, rep.type,
                    rep.str ? rep.str : "");
        redis_reply_free(&rep);
        fail();
    }
    v = rep.integer;
    redis_reply_free(&rep);
    return v;
}

/* HGET user:NAME hash into OUT (malloc'd) or NULL when absent. */
static char *
stored_hash(const struct fx *f, const char *name)
{
    struct redis_reply rep;
    char key[128];
    char *s = NULL;

    snprintf(key, sizeof(key), "user:%s", name);
    assert_int_equal(redis_query(f->rs.port, f->rpass, &rep, "HGET", key,
                                 "hash", NULL), 0);
    if (rep.type == '$' && rep.str != NULL)
        s = strdup(rep.str);
    else if (rep.type != '$')
        fail_msg("HGET %s: reply type '%c'", key, rep.type);
    redis_reply_free(&rep);
    return s;
}

/* ---- The basic flow ---- */

static void
run_flow(struct fx *f, const char *user, const char *pass)
{
    int port = f->ws.port;
    char token[65], key[128], other[65];
    struct http_resp r;

    assert_int_equal(do_register(port, user, pass), 303);
    assert_int_equal(do_login(port, user, pass, token), 303);

    snprintf(key, sizeof(key), "session:%s", token);
    assert_int_equal(redis_int(f, "EXISTS", key), 1);
    {
        long long ttl = redis_int(f, "TTL", key);
        assert_true(ttl > SESSION_TTL_S - 60 && ttl <= SESSION_TTL_S);
    }

    REQ_OK(get_welcome(port, token, &r));
    ASSERT_STATUS(&r, 200);
    assert_non_null(strstr(r.body, user));
    assert_non_null(http_header(&r, "Content-Type"));
    assert_non_null(strstr(http_header(&r, "Content-Type"), "text/html"));
    http_resp_free(&r);

    {
        char cookie[128];
        snprintf(cookie, sizeof(cookie), "sid=%s", token);
        REQ_OK(request(port, "HEAD", "/welcome", cookie, &r));
        ASSERT_STATUS(&r, 200);
        assert_int_equal(r.body_len, 0);
        http_resp_free(&r);
    }

    /* sliding expiry: shorten the TTL, /welcome puts it back */
    {
        struct redis_reply rep;
        long long ttl;
        assert_int_equal(redis_query(f->rs.port, f->rpass, &rep, "EXPIRE",
                                     key, "100", NULL), 0);
        assert_int_equal(rep.type, ':');
        redis_reply_free(&rep);
        assert_true(redis_int(f, "TTL", key) <= 100);
        REQ_OK(get_welcome(port, token, &r));
        ASSERT_STATUS(&r, 200);
        http_resp_free(&r);
        ttl = redis_int(f, "TTL", key);
        if (!(ttl > SESSION_TTL_S - 60 && ttl <= SESSION_TTL_S))
            fail_msg("TTL %s after /welcome: %lld, want about %d", key, ttl,
                     SESSION_TTL_S);
    }

    /* a second login makes a second, different session */
    assert_int_equal(do_login(port, user, pass, other), 303);
    assert_string_not_equal(token, other);

    /* logout: session gone, cookie cleared, 303 to / */
    {
        char cookie[128];
        const char *ck;
        snprintf(cookie, sizeof(cookie), "theme=dark; sid=%s", token);
        REQ_OK(post_form(port, "/logout", "", cookie, &r));
        assert_redirect(&r, "/#signed-out", __LINE__);
        ck = http_header(&r, "Set-Cookie");
        assert_non_null(ck);
        assert_true(strncmp(ck, "sid=;", 5) == 0);
        assert_non_null(strstr(ck, "Max-Age=0"));
        assert_non_null(strstr(ck, "Path=/"));
        http_resp_free(&r);
    }
    assert_int_equal(redis_int(f, "EXISTS", key), 0);

    REQ_OK(get_welcome(port, token, &r));
    assert_redirect(&r, "/login.html", __LINE__);
    http_resp_free(&r);

    /* the other session is untouched */
    REQ_OK(get_welcome(port, other, &r));
    ASSERT_STATUS(&r, 200);
    assert_non_null(strstr(r.body, user));
    http_resp_free(&r);
}

static void
test_session_flow(void **state)
{
    struct fx *f = *state;

    fx_start(f, NULL, NULL, REDIS_TIMEOUT_MS);
    run_flow(f, "alice", "correct horse battery");
    f->ws.passed = true;
}

static void
test_session_welcome_without_session(void **state)
{
    struct fx *f = *state;
    int port;
    struct http_resp r;

    fx_start(f, NULL, NULL, REDIS_TIMEOUT_MS);
    port = f->ws.port;

    REQ_OK(get_welcome(port, NULL, &r));
    assert_redirect(&r, "/login.html", __LINE__);
    http_resp_free(&r);

    /* well-formed but unknown token */
    REQ_OK(get_welcome(port, "0123456789abcdef0123456789abcdef"
                             "0123456789abcdef0123456789abcdef", &r));
    assert_redirect(&r, "/login.html", __LINE__);
    http_resp_free(&r);

    /* malformed tokens */
    REQ_OK(request(port, "GET", "/welcome", "sid=short", &r));
    assert_redirect(&r, "/login.html", __LINE__);
    http_resp_free(&r);
    REQ_OK(request(port, "GET", "/welcome", "sid=0123456789ABCDEF0123456789"
                   "ABCDEF0123456789ABCDEF0123456789ABCDEF", &r));
    assert_redirect(&r, "/login.html", __LINE__);
    http_resp_free(&r);
    REQ_OK(request(port, "GET", "/welcome", "xsid=0123456789abcdef0123456789"
                   "abcdef0123456789abcdef0123456789abcdef", &r));
    assert_redirect(&r, "/login.html", __LINE__);
    http_resp_free(&r);

    /* HEAD too */
    REQ_OK(request(port, "HEAD", "/welcome", NULL, &r));
    assert_redirect(&r, "/login.html", __LINE__);
    http_resp_free(&r);

    /* logout without a session still clears the cookie */
    REQ_OK(post_form(port, "/logout", "", NULL, &r));
    assert_redirect(&r, "/#signed-out", __LINE__);
    assert_non_null(http_header(&r, "Set-Cookie"));
    assert_non_null(strstr(http_header(&r, "Set-Cookie"), "Max-Age=0"));
    http_resp_free(&r);
    f->ws.passed = true;
}

/* Usernames cannot carry markup, but the page must escape whatever the
 * session names: plant one in Redis directly. */
static void
test_session_welcome_escapes_name(void **state)
{
    static const char tok[] = "00112233445566778899aabbccddeeff"
                              "00112233445566778899aabbccddeeff";
    struct fx *f = *state;
    struct redis_reply rep;
    struct http_resp r;

    fx_start(f, NULL, NULL, REDIS_TIMEOUT_MS);
    assert_int_equal(redis_query(f->rs.port, NULL, &rep, "SET",
                                 "session:00112233445566778899aabbccddeeff"
                                 "00112233445566778899aabbccddeeff",
                                 "<b>T&J's \"x\"</b>", "EX", "600", NULL), 0);
    assert_int_equal(rep.type, '+');
    redis_reply_free(&rep);

    REQ_OK(get_welcome(f->ws.port, tok, &r));
    ASSERT_STATUS(&r, 200);
    assert_non_null(strstr(r.body,
                           "&lt;b&gt;T&amp;J&#39;s &quot;x&quot;&lt;/b&gt;"));
    assert_null(strstr(r.body, "<b>"));
    http_resp_free(&r);
    f->ws.passed = true;
}

static void
test_session_wrong_password(void **state)
{
    struct fx *f = *state;
    int port;

    fx_start(f, NULL, NULL, REDIS_TIMEOUT_MS);
    port = f->ws.port;
    assert_int_equal(do_register(port, "bob", "bobs-password"), 303);
    assert_int_equal(do_login(port, "bob", "bobs-passwore", NULL), 401);
    assert_int_equal(do_login(port, "bob", "BOBS-PASSWORD", NULL), 401);
    assert_int_equal(do_login(port, "Bob", "bobs-password", NULL), 401);
    assert_int_equal(do_login(port, "nobody", "bobs-password", NULL), 401);
    assert_int_equal(do_login(port, "bob", "bobs-password", NULL), 303);
    f->ws.passed = true;
}

static void
test_session_duplicate_register(void **state)
{
    struct fx *f = *state;
    int port;
    char *h1, *h2;

    fx_start(f, NULL, NULL, REDIS_TIMEOUT_MS);
    port = f->ws.port;
    assert_int_equal(do_register(port, "carol", "first-password"), 303);
    h1 = stored_hash(f, "carol");
    assert_non_null(h1);
    assert_int_equal(do_register(port, "carol", "second-password"), 409);
    assert_int_equal(do_register(port, "carol", "first-password"), 409);
    h2 = stored_hash(f, "carol");
    assert_non_null(h2);
    assert_string_equal(h1, h2);            /* not overwritten */
    free(h1);
    free(h2);
    assert_int_equal(do_login(port, "carol", "first-password", NULL), 303);
    assert_int_equal(do_login(port, "carol", "second-password", NULL), 401);
    /* names are case-sensitive: another user */
    assert_int_equal(do_register(port, "Carol", "second-password"), 303);
    f->ws.passed = true;
}

/* Two connections (normally one per worker) send their whole requests
 * back to back, so both hash at the same time and race on HSETNX. */
static void
test_session_concurrent_register(void **state)
{
    struct fx *f = *state;
    int port;

    fx_start(f, NULL, NULL, REDIS_TIMEOUT_MS);
    port = f->ws.port;
    for (int round = 0; round < 8; round++) {
        char name[32], body[2][256], pass[2][32];
        struct http_conn c[2];
        struct http_resp r[2];
        int n303 = 0, n409 = 0, win = -1;

        snprintf(name, sizeof(name), "race%d", round);
        for (int i = 0; i < 2; i++) {
            snprintf(pass[i], sizeof(pass[i]), "password-%d-%d", round, i);
            user_body(body[i], sizeof(body[i]), name, pass[i]);
            assert_int_equal(io_open(&c[i], port), HTTP_OK);
        }
        for (int i = 0; i < 2; i++)
            REQ_OK(send_form(&c[i], "/register", body[i], NULL));
        for (int i = 0; i < 2; i++) {
            REQ_OK(http_read_response(&c[i], false, &r[i]));
            http_conn_close(&c[i]);
        }
        for (int i = 0; i < 2; i++) {
            if (r[i].status == 303) {
                n303++;
                win = i;
            } else if (r[i].status == 409) {
                n409++;
            }
        }
        if (n303 != 1 || n409 != 1)
            fail_msg("round %d: statuses %d and %d, want one 303 and one 409",
                     round, r[0].status, r[1].status);
        http_resp_free(&r[0]);
        http_resp_free(&r[1]);
        /* the winner's password is the one stored */
        assert_int_equal(do_login(port, name, pass[win], NULL), 303);
        assert_int_equal(do_login(port, name, pass[1 - win], NULL), 401);
    }
    f->ws.passed = true;
}

struct bad_case {
    int         line;
    const char *body;
};

static const struct bad_case bad_cases[] = {
    { __LINE__, "username=ab&password=password1" },             /* 2 chars */
    { __LINE__, "username=abcdefghijklmnopqrstuvwxyz0123456"    /* 33 */
                "&password=password1" },
    { __LINE__, "username=al+ice&password=password1" },         /* space */
    { __LINE__, "username=al%21ice&password=password1" },       /* ! */
    { __LINE__, "username=al%3Aice&password=password1" },       /* : */
    { __LINE__, "username=al%2Fice&password=password1" },       /* / */
    { __LINE__, "username=%C3%A9l%C3%A9&password=password1" },  /* UTF-8 */
    { __LINE__, "username=&password=password1" },
    { __LINE__, "password=password1" },                         /* missing */
    { __LINE__, "username=alice" },                             /* missing */
    { __LINE__, "username=alice&password=" },
    { __LINE__, "username=alice&password=short77" },            /* 7 bytes */
    { __LINE__, "username=alice&password="                      /* 129 */
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                "aaaaaaaaa" },
    { __LINE__, "username=alice&password=%zzpassword" },        /* bad escape */
    { __LINE__, "username=al%ice&password=password1" },
    { __LINE__, "username=alice&password=password1%" },
    { __LINE__, "username=alice&password=pass%00word1" },       /* NUL */
    { __LINE__, "username=al%00ice&password=password1" },
    { __LINE__, "" },
};

static void
test_session_invalid_input(void **state)
{
    static const char *const paths[] = { "/register", "/login" };
    struct fx *f = *state;
    struct http_resp r;
    int port;

    fx_start(f, NULL, NULL, REDIS_TIMEOUT_MS);
    port = f->ws.port;
    for (size_t p = 0; p < 2; p++) {
        for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
            REQ_OK(post_form(port, paths[p], bad_cases[i].body, NULL, &r));
            if (r.status != 400)
                fail_msg("case at line %d, %s: status %d, want 400",
                         bad_cases[i].line, paths[p], r.status);
            http_resp_free(&r);
        }
    }
    /* nothing was stored for any of them */
    {
        struct redis_reply rep;
        assert_int_equal(redis_query(f->rs.port, NULL, &rep, "DBSIZE", NULL),
                         0);
        assert_int_equal(rep.type, ':');
        assert_int_equal(rep.integer, 0);
        redis_reply_free(&rep);
    }

    /* the bounds themselves are valid */
    {
        char pass128[129];
        memset(pass128, 'p', 128);
        pass128[128] = '\0';
        assert_int_equal(do_register(port, "abc", "12345678"), 303);
        assert_int_equal(do_register(port,
                         "abcdefghijklmnopqrstuvwxyz012345", "12345678"), 303);
        assert_int_equal(do_register(port, "A.b_c-D", pass128), 303);
        assert_int_equal(do_login(port, "abc", "12345678", NULL), 303);
        assert_int_equal(do_login(port, "A.b_c-D", pass128, NULL), 303);
    }
    /* spaces and symbols survive the form decoding both ways */
    assert_int_equal(do_register(port, "symbols", "p@ss w+rd&=%;\"'<>"), 303);
    assert_int_equal(do_login(port, "symbols", "p@ss w+rd&=%;\"'<>", NULL),
                     303);
    assert_int_equal(do_login(port, "symbols", "p@ss w rd&=%;\"'<>", NULL),
                     401);
    f->ws.passed = true;
}

/* A password of 8-128 bytes is valid however the browser encodes it; a
 * browser sends most symbols as %XX, three bytes on the wire per byte. */
static void
test_session_register_long_encoded_password(void **state)
{
    struct fx *f = *state;
    char pass[129];
    int port;

    fx_start(f, NULL, NULL, REDIS_TIMEOUT_MS);
    port = f->ws.port;
    memset(pass, '!', 60);          /* 60 bytes, 180 on the wire */
    pass[60] = '\0';
    assert_int_equal(do_register(port, "shouter", pass), 303);
    assert_int_equal(do_login(port, "shouter", pass, NULL), 303);
    memset(pass, '#', 128);         /* the maximum, 384 on the wire */
    pass[128] = '\0';
    assert_int_equal(do_register(port, "hasher", pass), 303);
    assert_int_equal(do_login(port, "hasher", pass, NULL), 303);
    f->ws.passed = true;
}

static void
test_session_too_many_failures(void **state)
{
    struct fx *f = *state;
    long long ttl;
    int port;

    fx_start(f, NULL, NULL, REDIS_TIMEOUT_MS);
    port = f->ws.port;
    assert_int_equal(do_register(port, "dave", "daves-password"), 303);
    assert_int_equal(do_register(port, "erin", "erins-password"), 303);
    for (int i = 1; i <= FAIL_LIMIT; i++) {
        int st = do_login(port, "dave", "not-the-password", NULL);
        if (st != 401)
            fail_msg("wrong attempt %d: status %d, want 401", i, st);
    }
    /* counted per client address and username (test_security.c has
     * the per-client side) */
    assert_int_equal(redis_int(f, "EXISTS", "login:fail:127.0.0.1/dave"), 1);
    ttl = redis_int(f, "TTL", "login:fail:127.0.0.1/dave");
    if (!(ttl > 0 && ttl <= FAIL_WINDOW_S))
        fail_msg("TTL login:fail:127.0.0.1/dave = %lld, want 1..%d", ttl,
                 FAIL_WINDOW_S);

    assert_int_equal(do_login(port, "dave", "not-the-password", NULL), 429);
    assert_int_equal(do_login(port, "dave", "still-not-it", NULL), 429);
    /* other users are not affected */
    assert_int_equal(do_login(port, "erin", "erins-password", NULL), 303);
    f->ws.passed = true;
}

/* Only a salted yescrypt hash is stored, never the password. */
static void
test_session_stored_hash(void **state)
{
    static const char pw[] = "Plaintext-Canary-4711";
    struct fx *f = *state;
    struct redis_reply rep;
    char *h1, *h2;
    int port;

    fx_start(f, NULL, NULL, REDIS_TIMEOUT_MS);
    port = f->ws.port;
    assert_int_equal(do_register(port, "frank", pw), 303);
    assert_int_equal(do_register(port, "grace", pw), 303);
    h1 = stored_hash(f, "frank");
    h2 = stored_hash(f, "grace");
    assert_non_null(h1);
    assert_non_null(h2);
    if (strncmp(h1, "$y$", 3) != 0 || strstr(h1, pw) != NULL
        || strstr(h1, "4711") != NULL)
        fail_msg("stored hash '%s' is not a yescrypt hash or holds the "
                 "password", h1);
    assert_string_not_equal(h1, h2);        /* salted */
    free(h1);
    free(h2);

    /* the record has just the one field */
    assert_int_equal(redis_query(f->rs.port, NULL, &rep, "HKEYS",
                                 "user:frank", NULL), 0);
    assert_int_equal(rep.type, '*');
    assert_int_equal(rep.nelem, 1);
    assert_string_equal(rep.elem[0].str, "hash");
    redis_reply_free(&rep);

    /* nothing anywhere in Redis holds the password, even after a login */
    assert_int_equal(do_login(port, "frank", pw, NULL), 303);
    assert_int_equal(do_login(port, "frank", "wrong-password", NULL), 401);
    assert_int_equal(redis_query(f->rs.port, NULL, &rep, "KEYS", "*", NULL),
                     0);
    assert_int_equal(rep.type, '*');
    for (size_t i = 0; i < rep.nelem; i++) {
        struct redis_reply v, t;
        const char *key = rep.elem[i].str;
        assert_null(strstr(key, "Canary"));
        assert_int_equal(redis_query(f->rs.port, NULL, &t, "TYPE", key, NULL),
                         0);
        if (strcmp(t.str, "string") == 0) {
            assert_int_equal(redis_query(f->rs.port, NULL, &v, "GET", key,
                                         NULL), 0);
            if (v.str != NULL && strstr(v.str, "Canary") != NULL)
                fail_msg("key %s holds the password", key);
            redis_reply_free(&v);
        } else if (strcmp(t.str, "hash") == 0) {
            assert_int_equal(redis_query(f->rs.port, NULL, &v, "HGETALL",
                                         key, NULL), 0);
            for (size_t k = 0; k < v.nelem; k++) {
                if (v.elem[k].str != NULL
                    && strstr(v.elem[k].str, "Canary") != NULL)
                    fail_msg("hash %s holds the password", key);
            }
            redis_reply_free(&v);
        }
        redis_reply_free(&t);
    }
    redis_reply_free(&rep);
    f->ws.passed = true;
}

static void
test_session_requirepass(void **state)
{
    struct fx *f = *state;
    char *h;

    fx_start(f, "s3cret-redis", "redis_password = s3cret-redis\n",
             REDIS_TIMEOUT_MS);
    run_flow(f, "heidi", "heidis-password");
    h = stored_hash(f, "heidi");
    assert_non_null(h);
    free(h);
    f->ws.passed = true;
}

/* Redis wants a password the server does not send (or sends wrong):
 * Redis counts as unavailable, static files do not care. */
static void
test_session_requirepass_missing(void **state)
{
    struct fx *f = *state;
    struct http_resp r;
    char conf[2048];
    int port;

    fx_start(f, "s3cret-redis", NULL, REDIS_TIMEOUT_MS);
    port = f->ws.port;
    /* each answered at all: a request that hung would fail on the client's
     * receive timeout */
    for (int i = 0; i < 3; i++) {
        REQ_OK(post_form(port, "/register", "username=ivan&password=ivans-pw1",
                         NULL, &r));
        assert_unavailable(&r, __LINE__);
        http_resp_free(&r);
        REQ_OK(post_form(port, "/login", "username=ivan&password=ivans-pw1",
                         NULL, &r));
        assert_unavailable(&r, __LINE__);
        http_resp_free(&r);
        assert_static_ok(port);
    }
    REQ_OK(get_welcome(port, "0123456789abcdef0123456789abcdef"
                             "0123456789abcdef0123456789abcdef", &r));
    assert_unavailable(&r, __LINE__);
    http_resp_free(&r);

    /* a wrong password is no better */
    assert_int_equal(ws_init(&f->ws2), 0);
    snprintf(conf, sizeof(conf), "root = %s\n", f->ws.root);
    fx_conf(f, conf + strlen(conf), sizeof(conf) - strlen(conf),
            REDIS_TIMEOUT_MS, "redis_password = not-the-secret\n");
    assert_int_equal(ws_start_conf(&f->ws2, conf), 0);
    REQ_OK(post_form(f->ws2.port, "/login", "username=ivan&password=ivans-pw1",
                     NULL, &r));
    assert_unavailable(&r, __LINE__);
    http_resp_free(&r);
    assert_static_ok(f->ws2.port);
    f->ws2.passed = true;
    f->ws.passed = true;
}

static void
test_session_redis_db(void **state)
{
    struct fx *f = *state;
    struct redis_reply rep;
    char token[65], key[128];
    int fd;

    fx_start(f, NULL, "redis_db = 3\n", REDIS_TIMEOUT_MS);
    assert_int_equal(do_register(f->ws.port, "judy", "judys-password"), 303);
    assert_int_equal(do_login(f->ws.port, "judy", "judys-password", token),
                     303);
    snprintf(key, sizeof(key), "session:%s", token);

    fd = redis_connect(f->rs.port);
    assert_true(fd >= 0);
    assert_int_equal(redis_command(fd, &rep, "EXISTS", "user:judy", NULL), 0);
    assert_int_equal(rep.integer, 0);               /* not in db 0 */
    redis_reply_free(&rep);
    assert_int_equal(redis_command(fd, &rep, "SELECT", "3", NULL), 0);
    assert_int_equal(rep.type, '+');
    redis_reply_free(&rep);
    assert_int_equal(redis_command(fd, &rep, "EXISTS", "user:judy", NULL), 0);
    assert_int_equal(rep.integer, 1);
    redis_reply_free(&rep);
    assert_int_equal(redis_command(fd, &rep, "EXISTS", key, NULL), 0);
    assert_int_equal(rep.integer, 1);
    redis_reply_free(&rep);
    close(fd);
    f->ws.passed = true;
}

/* Password hashing runs beside the event loop: while the only worker
 * hashes a burst of registrations, a static request sent after the burst
 * is answered before the burst is over. Hashing on the loop would answer
 * every registration first. */
static void
test_session_hashing_does_not_block_static(void **state)
{
    enum { N = 16 };
    struct fx *f = *state;
    struct http_conn c[N], s;
    struct http_resp r;
    char body[128];
    int answered = 0;

    fx_start(f, NULL, "processes = 1\n", REDIS_TIMEOUT_MS);
    for (int i = 0; i < N; i++) {
        snprintf(body, sizeof(body),
                 "username=burst%d&password=burst-password-%d", i, i);
        assert_int_equal(io_open(&c[i], f->ws.port), HTTP_OK);
        REQ_OK(send_form(&c[i], "/register", body, NULL));
    }
    assert_int_equal(io_open(&s, f->ws.port), HTTP_OK);
    REQ_OK(http_request(&s, "GET", "/index.html", NULL, &r));
    ASSERT_STATUS(&r, 200);
    http_resp_free(&r);
    http_conn_close(&s);
    for (int i = 0; i < N; i++) {
        struct pollfd p = { c[i].fd, POLLIN, 0 };
        if (poll(&p, 1, 0) == 1)
            answered++;
    }
    for (int i = 0; i < N; i++) {
        REQ_OK(http_read_response(&c[i], false, &r));
        ASSERT_STATUS(&r, 303);
        http_resp_free(&r);
        http_conn_close(&c[i]);
    }
    print_message("%d of %d registrations answered when the static page "
                  "came back\n", answered, N);
    assert_true(answered < N);
    f->ws.passed = true;
}

/* redis_host = unix:/path talks to Redis over its Unix socket; redis_port
 * points nowhere, so TCP cannot be what works. */
static void
test_session_redis_unix_socket(void **state)
{
    struct fx *f = *state;
    char sock[WS_PATH_MAX + 16], more[WS_PATH_MAX + 64], conf[2048];
    const char *extra[] = { "--unixsocket", sock, "--unixsocketperm", "700",
                            NULL };
    char token[65];
    struct http_resp r;

    snprintf(sock, sizeof(sock), "%s/redis.sock", f->ws.dir);
    assert_int_equal(redis_start(&f->rs, f->ws.dir, extra), 0);
    snprintf(more, sizeof(more), "redis_host = unix:%s\nredis_port = 1\n",
             sock);
    fx_conf(f, conf, sizeof(conf), REDIS_TIMEOUT_MS, more);
    assert_int_equal(ws_start_conf(&f->ws, conf), 0);

    assert_int_equal(do_register(f->ws.port, "ursula", "ursulas-password"),
                     303);
    assert_int_equal(do_login(f->ws.port, "ursula", "ursulas-password", token),
                     303);
    assert_int_equal(get_welcome(f->ws.port, token, &r), HTTP_OK);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "ursula"));
    http_resp_free(&r);
    f->ws.passed = true;
}

/* Register + login + welcome with fresh names until it works NEED times in
 * a row (each on a new connection, so both workers take part), within
 * TIMEOUT_MS. Returns the successes in a row at the end. */
static int
wait_service(struct fx *f, const char *prefix, int need, int timeout_ms)
{
    int64_t deadline = ws_now_ms() + timeout_ms;
    int row = 0, n = 0;

    while (row < need && ws_now_ms() < deadline) {
        char name[32], token[65];
        struct http_resp r;
        bool ok;

        snprintf(name, sizeof(name), "%s%d", prefix, n++);
        ok = do_register(f->ws.port, name, "recovered-pw") == 303
             && do_login(f->ws.port, name, "recovered-pw", token) == 303;
        if (ok) {
            REQ_OK(get_welcome(f->ws.port, token, &r));
            ok = r.status == 200;
            http_resp_free(&r);
        }
        row = ok ? row + 1 : 0;
        if (!ok)
            ws_sleep_ms(100);
    }
    return row;
}

static void
test_session_redis_down_and_back(void **state)
{
    struct fx *f = *state;
    char token[65], cookie[128];
    struct http_resp r;
    int port, rport, row;

    fx_start(f, NULL, NULL, REDIS_TIMEOUT_MS);
    port = f->ws.port;
    rport = f->rs.port;
    assert_int_equal(do_register(port, "kate", "kates-password"), 303);
    assert_int_equal(do_login(port, "kate", "kates-password", token), 303);
    snprintf(cookie, sizeof(cookie), "sid=%s", token);

    /* every session route answers 503; one that hung would fail on the
     * client's receive timeout */
    redis_stop(&f->rs);
    for (int i = 0; i < 4; i++) {
        REQ_OK(post_form(port, "/login", "username=kate&password=kates-password",
                         NULL, &r));
        assert_unavailable(&r, __LINE__);
        http_resp_free(&r);

        REQ_OK(post_form(port, "/register",
                         "username=kate2&password=kates-password", NULL, &r));
        assert_unavailable(&r, __LINE__);
        http_resp_free(&r);

        REQ_OK(get_welcome(port, token, &r));
        assert_unavailable(&r, __LINE__);
        http_resp_free(&r);

        REQ_OK(post_form(port, "/logout", "", cookie, &r));
        assert_unavailable(&r, __LINE__);
        http_resp_free(&r);

        assert_static_ok(port);
        assert_static_ok(port);
    }

    /* the same port again (empty: the data went with it); no restart */
    assert_int_equal(redis_start_port(&f->rs, f->ws.dir, rport, NULL), 0);
    row = wait_service(f, "back", 4, RECOVER_MS);
    if (row < 4)
        fail_msg("sessions did not come back within %d ms after Redis "
                 "restarted (%d successes in a row)", RECOVER_MS, row);
    f->ws.passed = true;
}

/* Bytes waiting on C's socket right now (without blocking), or -1. */
static int
pending_bytes(const struct http_conn *c)
{
    char b;
    ssize_t n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

    if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return 0;
    return n > 0 ? 1 : -1;
}

/* Redis hangs (SIGSTOP). A session request then waits for redis_timeout,
 * never less, and gets 503; static files are served all along; after
 * SIGCONT sessions work again. A second server on the same Redis, whose
 * redis_timeout no wait here reaches, shows that requests waiting for
 * Redis leave the workers free: static requests sent after them are
 * answered while they still wait, and they complete once Redis is back. */
static void
test_session_redis_frozen(void **state)
{
    static const char liam[] = "username=liam&password=liams-password";
    struct fx *f = *state;
    struct http_conn c[2], w[2];
    struct http_resp r;
    char token[65], conf[2048];
    int fds[2], port, row;
    int64_t t0, at[2];

    fx_start(f, NULL, NULL, FROZEN_TIMEOUT_MS);
    port = f->ws.port;
    assert_int_equal(do_register(port, "liam", "liams-password"), 303);
    assert_int_equal(do_login(port, "liam", "liams-password", token), 303);

    /* the patient server: same root, same Redis */
    assert_int_equal(ws_init(&f->ws2), 0);
    snprintf(conf, sizeof(conf), "root = %s\n", f->ws.root);
    fx_conf(f, conf + strlen(conf), sizeof(conf) - strlen(conf),
            PATIENT_TIMEOUT_MS, NULL);
    assert_int_equal(ws_start_conf(&f->ws2, conf), 0);

    assert_int_equal(kill(f->rs.pid, SIGSTOP), 0);
    f->frozen = true;

    /* two pending logins on each: with two workers, normally one on each */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(io_open(&w[i], f->ws2.port), HTTP_OK);
        REQ_OK(send_form(&w[i], "/login", liam, NULL));
        assert_int_equal(io_open(&c[i], port), HTTP_OK);
    }
    t0 = ws_now_ms();
    for (int i = 0; i < 2; i++)
        REQ_OK(send_form(&c[i], "/login", liam, NULL));

    /* meanwhile static files answer, on the same workers, and the logins
     * on the patient server are still waiting */
    for (int i = 0; i < 4; i++)
        assert_static_ok(f->ws2.port);
    for (int i = 0; i < 2; i++) {
        if (pending_bytes(&w[i]) != 0)
            fail_msg("login %d on the patient server answered or closed "
                     "while Redis is frozen", i);
    }

    /* on this server the logins get 503 once redis_timeout is over; the
     * server cannot have started that clock before T0 */
    for (int i = 0; i < 2; i++)
        fds[i] = c[i].fd;
    ws_wait_readable(fds, 2, FROZEN_TIMEOUT_MS + WS_WAIT_MS, at);
    for (int i = 0; i < 2; i++) {
        if (at[i] < 0)
            fail_msg("login %d: no answer %d ms after redis_timeout (%d ms)",
                     i, WS_WAIT_MS, FROZEN_TIMEOUT_MS);
        print_message("login %d answered after %lld ms\n", i,
                      (long long) (at[i] - t0));
        if (at[i] - t0 < FROZEN_TIMEOUT_MS - EARLY_SLACK_MS)
            fail_msg("login %d answered after %lld ms, before redis_timeout "
                     "(%d ms)", i, (long long) (at[i] - t0),
                     FROZEN_TIMEOUT_MS);
        REQ_OK(http_read_response(&c[i], false, &r));
        assert_unavailable(&r, __LINE__);
        http_resp_free(&r);
        http_conn_close(&c[i]);
    }

    /* still frozen: every session route answers 503, none hangs (that
     * would fail on the client's receive timeout) */
    REQ_OK(get_welcome(port, token, &r));
    assert_unavailable(&r, __LINE__);
    http_resp_free(&r);
    REQ_OK(post_form(port, "/register", "username=mia&password=mias-password",
                     NULL, &r));
    assert_unavailable(&r, __LINE__);
    http_resp_free(&r);
    assert_static_ok(port);

    assert_int_equal(kill(f->rs.pid, SIGCONT), 0);
    f->frozen = false;
    /* the patient server's logins complete */
    for (int i = 0; i < 2; i++) {
        REQ_OK(http_read_response(&w[i], false, &r));
        assert_redirect(&r, "/welcome", __LINE__);
        http_resp_free(&r);
        http_conn_close(&w[i]);
    }
    row = wait_service(f, "thawed", 4, RECOVER_MS);
    if (row < 4)
        fail_msg("sessions did not come back after SIGCONT (%d in a row)",
                 row);
    REQ_OK(get_welcome(port, token, &r));
    ASSERT_STATUS(&r, 200);
    assert_non_null(strstr(r.body, "liam"));
    http_resp_free(&r);
    f->ws2.passed = true;
    f->ws.passed = true;
}

/* Session routes on one keep-alive connection, one after the other and
 * pipelined: each async answer goes to its own request, in order. */
static void
test_session_keepalive_pipelined(void **state)
{
    static const char reg[] = "username=nina&password=ninas-password";
    struct fx *f = *state;
    struct http_conn c;
    struct http_resp r;
    char head[512], cookie[128], token[65], req[4096];
    const char *ck;
    int n;

    fx_start(f, NULL, NULL, REDIS_TIMEOUT_MS);
    assert_int_equal(io_open(&c, f->ws.port), HTTP_OK);

    /* one after the other */
    snprintf(head, sizeof(head), "Content-Type: application/x-www-form-"
             "urlencoded\r\nContent-Length: %zu\r\n", strlen(reg));
    REQ_OK(http_send_request(&c, "POST", "/register", head));
    REQ_OK(http_send(&c, reg, strlen(reg)));
    REQ_OK(http_read_response(&c, false, &r));
    assert_redirect(&r, "/login.html#created", __LINE__);
    assert_true(r.keepalive);
    http_resp_free(&r);
    REQ_OK(http_send_request(&c, "POST", "/login", head));
    REQ_OK(http_send(&c, reg, strlen(reg)));
    REQ_OK(http_read_response(&c, false, &r));
    assert_redirect(&r, "/welcome", __LINE__);
    ck = http_header(&r, "Set-Cookie");
    assert_non_null(ck);
    assert_true(is_token(ck + 4, 64));
    memcpy(token, ck + 4, 64);
    token[64] = '\0';
    http_resp_free(&r);
    snprintf(cookie, sizeof(cookie), "Cookie: sid=%s\r\n", token);
    REQ_OK(http_request(&c, "GET", "/welcome", cookie, &r));
    ASSERT_STATUS(&r, 200);
    assert_non_null(strstr(r.body, "nina"));
    http_resp_free(&r);

    /* pipelined: duplicate register, wrong login, static, welcome, logout,
     * welcome again - all in one write */
    n = snprintf(req, sizeof(req),
        "POST /register HTTP/1.1\r\nHost: x\r\n%s\r\n%s"
        "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-"
        "form-urlencoded\r\nContent-Length: 34\r\n\r\n"
        "username=nina&password=wrong-pass1"
        "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n"
        "GET /welcome HTTP/1.1\r\nHost: x\r\n%s\r\n"
        "POST /logout HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n%s\r\n"
        "GET /welcome HTTP/1.1\r\nHost: x\r\n%s\r\n",
        head, reg, cookie, cookie, cookie);
    assert_true(n > 0 && n < (int) sizeof(req));
    REQ_OK(http_send(&c, req, (size_t) n));
    REQ_OK(http_read_response(&c, false, &r));
    ASSERT_STATUS(&r, 409);
    http_resp_free(&r);
    REQ_OK(http_read_response(&c, false, &r));
    ASSERT_STATUS(&r, 401);
    http_resp_free(&r);
    REQ_OK(http_read_response(&c, false, &r));
    ASSERT_STATUS(&r, 200);
    assert_non_null(strstr(r.body, "static index"));
    http_resp_free(&r);
    REQ_OK(http_read_response(&c, false, &r));
    ASSERT_STATUS(&r, 200);
    assert_non_null(strstr(r.body, "nina"));
    http_resp_free(&r);
    REQ_OK(http_read_response(&c, false, &r));
    assert_redirect(&r, "/#signed-out", __LINE__);
    http_resp_free(&r);
    REQ_OK(http_read_response(&c, false, &r));
    assert_redirect(&r, "/login.html", __LINE__);
    http_resp_free(&r);
    http_conn_close(&c);
    f->ws.passed = true;
}

/* Clients that hang up while their request waits for the hash pool or
 * Redis: the workers stay up (the same two processes) and keep answering. */
static void
test_session_client_gone(void **state)
{
    struct fx *f = *state;
    pid_t kids[WS_MAX_PROCS], now[WS_MAX_PROCS];
    int port, held;

    fx_start(f, NULL, NULL, REDIS_TIMEOUT_MS);
    port = f->ws.port;
    assert_int_equal(ws_wait_children(f->ws.pid, 2, WS_WAIT_MS, kids), 2);
    assert_int_equal(do_register(port, "oscar", "oscars-password"), 303);
    for (int i = 0; i < 10; i++) {
        static const char *const paths[] = { "/register", "/login" };
        char body[128];
        struct http_conn c;

        snprintf(body, sizeof(body), "username=%s&password=oscars-password",
                 i % 4 == 0 ? "oscar" : "nobody");
        assert_int_equal(io_open(&c, port), HTTP_OK);
        REQ_OK(send_form(&c, paths[i % 2], body, NULL));
        http_conn_close(&c);
    }
    /* wait until the server is done with all of them: it closes its end
     * once it is done with the request (it does not read while one waits),
     * and until then a connection whose client hung up is in CLOSE_WAIT */
    held = ws_wait_tcp_server_conns(port, 0, WS_WAIT_MS);
    if (held != 0)
        fail_msg("%d abandoned connections still open after %d ms", held,
                 WS_WAIT_MS);
    assert_true(ws_pid_alive(f->ws.pid));
    assert_int_equal(ws_children(f->ws.pid, now, WS_MAX_PROCS), 2);
    assert_memory_equal(now, kids, 2 * sizeof(pid_t));
    assert_int_equal(do_login(port, "oscar", "oscars-password", NULL), 303);
    assert_int_equal(do_register(port, "oscar2", "oscars-password"), 303);
    assert_static_ok(port);
    f->ws.passed = true;
}

/* Browsers add a charset; other body types are not forms. */
static void
test_session_content_type(void **state)
{
    static const char body[] = "username=paula&password=paulas-password";
    struct fx *f = *state;
    struct http_conn c;
    struct http_resp r;
    char head[256];

    fx_start(f, NULL, NULL, REDIS_TIMEOUT_MS);
    assert_int_equal(io_open(&c, f->ws.port), HTTP_OK);
    snprintf(head, sizeof(head), "Content-Type: application/x-www-form-"
             "urlencoded; charset=UTF-8\r\nContent-Length: %zu\r\n",
             strlen(body));
    REQ_OK(http_send_request(&c, "POST", "/register", head));
    REQ_OK(http_send(&c, body, strlen(body)));
    REQ_OK(http_read_response(&c, false, &r));
    assert_redirect(&r, "/login.html#created", __LINE__);
    http_resp_free(&r);
    snprintf(head, sizeof(head), "Content-Type: text/plain\r\n"
             "Content-Length: %zu\r\n", strlen(body));
    REQ_OK(http_send_request(&c, "POST", "/login", head));
    REQ_OK(http_send(&c, body, strlen(body)));
    REQ_OK(http_read_response(&c, false, &r));
    if (r.status != 400 && r.status != 415)
        fail_msg("text/plain login: %d, want 400 or 415", r.status);
    http_resp_free(&r);
    http_conn_close(&c);
    f->ws.passed = true;
}

static void
test_session_wrong_method(void **state)
{
    static const struct {
        int         line;
        const char *method, *path, *allow;
    } cases[] = {
        { __LINE__, "GET",    "/register", "POST, OPTIONS" },
        { __LINE__, "HEAD",   "/register", "POST, OPTIONS" },
        { __LINE__, "GET",    "/login",    "POST, OPTIONS" },
        { __LINE__, "HEAD",   "/login",    "POST, OPTIONS" },
        { __LINE__, "GET",    "/logout",   "POST, OPTIONS" },
        { __LINE__, "POST",   "/welcome",  "GET, HEAD, OPTIONS" },
        { __LINE__, "HEAD",   "/logout",   "POST, OPTIONS" },
    };
    struct fx *f = *state;
    struct http_resp r;

    fx_start(f, NULL, NULL, REDIS_TIMEOUT_MS);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *allow;
        if (strcmp(cases[i].method, "POST") == 0)
            REQ_OK(post_form(f->ws.port, cases[i].path, "", NULL, &r));
        else
            REQ_OK(request(f->ws.port, cases[i].method, cases[i].path, NULL,
                           &r));
        allow = http_header(&r, "Allow");
        if (r.status != 405 || allow == NULL
            || strcmp(allow, cases[i].allow) != 0)
            fail_msg("case at line %d: %s %s: %d, Allow '%s'; want 405, "
                     "Allow '%s'", cases[i].line, cases[i].method,
                     cases[i].path, r.status, allow ? allow : "(none)",
                     cases[i].allow);
        http_resp_free(&r);
    }
    f->ws.passed = true;
}

/* ---- Under valgrind ---- */

/* Every process's valgrind log must report no errors and no definite leak. */
static void
check_vg_logs(const struct ws_server *ws)
{
    char pattern[WS_PATH_MAX + 16];
    glob_t g;
    int bad = 0;

    snprintf(pattern, sizeof(pattern), "%s/vg.*.log", ws->dir);
    assert_int_equal(glob(pattern, 0, NULL, &g), 0);
    if (g.gl_pathc < 3)         /* master and two workers */
        fail_msg("%zu valgrind logs, want at least 3", (size_t) g.gl_pathc);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        size_t len;
        char *text = ws_read_file(g.gl_pathv[i], &len);
        const char *p;
        bool ok;

        assert_non_null(text);
        ok = strstr(text, "ERROR SUMMARY: 0 errors") != NULL;
        for (p = text; (p = strstr(p, "definitely lost:")) != NULL; p++) {
            const char *q = p + strlen("definitely lost:");
            while (*q == ' ')
                q++;
            if (*q != '0' || (q[1] != ' ' && q[1] != '\0'))
                ok = false;
        }
        if (!ok) {
            fprintf(stderr, "test: --- %s:\n%s\n", g.gl_pathv[i], text);
            bad++;
        }
        free(text);
    }
    globfree(&g);
    if (bad > 0)
        fail_msg("%d valgrind log(s) report errors or definite leaks", bad);
}

static void
test_session_valgrind_flow(void **state)
{
    struct fx *f = *state;
    int status, queued;

    fx_start(f, NULL, NULL, VG_REDIS_TIMEOUT_MS);
    run_flow(f, "valerie", "valeries-password");
    assert_int_equal(do_login(f->ws.port, "valerie", "wrong-password", NULL),
                     401);
    assert_int_equal(do_register(f->ws.port, "valerie", "whatever-pw"), 409);

    /* clients that hang up mid-request, some still in flight at SIGQUIT */
    for (int i = 0; i < 4; i++) {
        static const char *const bodies[] = {
            "username=valerie&password=valeries-password",
            "username=valerie&password=wrong-password",
            "username=victor&password=victors-password",
        };
        struct http_conn c;

        assert_int_equal(io_open(&c, f->ws.port), HTTP_OK);
        REQ_OK(send_form(&c, i % 2 ? "/register" : "/login", bodies[i % 3],
                         NULL));
        http_conn_close(&c);
    }
    /* once the master has accepted them they are the workers' to finish
     * or drop when SIGQUIT comes, whether or not they are done by then */
    queued = ws_wait_accepted(f->ws.port, VG_READY_MS);
    if (queued != 0)
        fail_msg("%d connections not accepted within %d ms", queued,
                 VG_READY_MS);

    assert_int_equal(ws_signal(&f->ws, SIGQUIT), 0);
    if (ws_wait_exit(&f->ws, VG_EXIT_MS, &status) == -1)
        fail_msg("server under valgrind still running %d ms after SIGQUIT",
                 VG_EXIT_MS);
    if (ws_exit_code(status) != 0)
        fail_msg("server under valgrind exited with code %d",
                 ws_exit_code(status));
    check_vg_logs(&f->ws);
    f->ws.passed = true;
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_session_flow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_welcome_without_session,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_welcome_escapes_name,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_wrong_password, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_session_duplicate_register,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_concurrent_register,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_invalid_input, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_session_register_long_encoded_password, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_too_many_failures, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_session_stored_hash, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_session_requirepass, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_session_requirepass_missing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_hashing_does_not_block_static,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_redis_unix_socket, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_session_redis_db, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_session_redis_down_and_back,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_redis_frozen, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_session_keepalive_pipelined,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_client_gone, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_session_content_type, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_session_wrong_method, setup,
                                        teardown),
    };
    const struct CMUnitTest vg_tests[] = {
        cmocka_unit_test_setup_teardown(test_session_valgrind_flow, setup,
                                        teardown),
    };
    const char *env = getenv("WS_SESSION_VALGRIND");
    char why[WS_PATH_MAX + 128];

    g_valgrind = (argc > 1 && strcmp(argv[1], "--valgrind") == 0)
                 || (env != NULL && strcmp(env, "1") == 0);
    if (g_valgrind) {
        if (vg_cannot_run(why, sizeof(why)) != NULL) {
            printf("session_valgrind: skipped: %s\n", why);
            return WS_EXIT_SKIP;
        }
        g_io_s = VG_IO_S;
        return cmocka_run_group_tests_name("session_valgrind", vg_tests,
                                           NULL, NULL);
    }
    return cmocka_run_group_tests_name("session", tests, NULL, NULL);
}
