/* test_tls.c - HTTPS: curl and openssl s_client against the TLS port of
 * the real binary, with certificates made here by `openssl req`. Files
 * byte for byte (a page, 1 MiB, a range), TLS 1.3 with ALPN http/1.1,
 * resumption across two workers (shared ticket keys; TLS 1.3 and 1.2),
 * garbage, plain HTTP, a stalled handshake and one cut short on the TLS
 * port (each logged once at info, counted, counts logged at exit), a reload with a new certificate and
 * one with a bad key, redirect_to_https, HSTS, and the login flow with a
 * Secure cookie. Every wait is on a condition with a generous deadline.
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness.h"

#define OUT_MAX     (64 * 1024)
#define BIG_SIZE    (1024 * 1024)
#define BIG_SEED    11

/* Run CMD with sh (stderr into the output), at most 120 s (a hang bound,
 * not a speed limit); its output into OUT. Returns the exit code. */
static int
sh(char *out, size_t outlen, const char *fmt, ...)
{
    char cmd[4096], full[4300];
    size_t n = 0;
    va_list ap;
    FILE *p;
    int st;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    snprintf(full, sizeof(full), "timeout 120 sh -c '%s' 2>&1", cmd);
    p = popen(full, "r");
    if (p == NULL)
        return -1;
    if (out != NULL && outlen > 0) {
        size_t k;
        while (n + 1 < outlen && (k = fread(out + n, 1, outlen - 1 - n, p)) > 0)
            n += k;
        out[n] = '\0';
    }
    {
        char sink[4096];
        while (fread(sink, 1, sizeof(sink), p) > 0)
            ;
    }
    st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* DIR/NAME.pem and DIR/NAME.key, self-signed for localhost, organisation
 * NAME (so a client can tell two certificates apart). */
static void
make_cert(const char *dir, const char *name)
{
    char out[OUT_MAX];
    int rc = sh(out, sizeof(out), "openssl req -x509 -newkey ec -pkeyopt "
                "ec_paramgen_curve:prime256v1 -keyout %s/%s.key -out %s/%s.pem "
                "-days 2 -nodes -subj /O=%s/CN=localhost "
                "-addext subjectAltName=DNS:localhost", dir, name, dir, name,
                name);
    if (rc != 0)
        fail_msg("openssl req failed (%d): %s", rc, out);
}

/* Start WS with MORE config lines, HTTPS on with certificate NAME; the
 * bound TLS port is returned. */
static int
start_tls(struct ws_server *ws, const char *name, const char *more)
{
    char conf[4096], path[WS_PATH_MAX + 32];
    long port;

    snprintf(conf, sizeof(conf),
             "tls_port = 0\n"
             "tls_port_file = %s/tlsport\n"
             "tls_certificate = %s/%s.pem\n"
             "tls_certificate_key = %s/%s.key\n"
             "%s",
             ws->dir, ws->dir, name, ws->dir, name, more != NULL ? more : "");
    assert_int_equal(ws_start_conf(ws, conf), 0);
    snprintf(path, sizeof(path), "%s/tlsport", ws->dir);
    assert_true(ws_wait_exists(path, WS_WAIT_MS));
    port = ws_read_number(path);
    assert_true(port > 0);
    return (int) port;
}

/* A page and a 1 MiB file under the root. */
static void
write_files(struct ws_server *ws)
{
    char path[WS_PATH_MAX + 32];

    snprintf(path, sizeof(path), "%s/index.html", ws->root);
    assert_int_equal(ws_write_text(path, "<h1>hello over https</h1>\n"), 0);
    snprintf(path, sizeof(path), "%s/big.bin", ws->root);
    assert_int_equal(ws_write_random_file(path, BIG_SIZE, BIG_SEED), 0);
}

/* s_client on PORT with EXTRA options, sending an HTTP request; output. */
static int
s_client(char *out, size_t outlen, int port, const char *extra)
{
    return sh(out, outlen, "printf \"GET / HTTP/1.1\\r\\nHost: localhost\\r\\n"
              "Connection: close\\r\\n\\r\\n\" | openssl s_client -connect "
              "127.0.0.1:%d -servername localhost -ign_eof %s", port,
              extra != NULL ? extra : "");
}

/* ---- Files ---- */

static void
test_tls_curl_files_byte_for_byte(void **state)
{
    struct ws_server *ws = *state;
    char out[OUT_MAX], path[WS_PATH_MAX + 32], *got, *want;
    size_t len;
    int port;

    make_cert(ws->dir, "first");
    write_files(ws);
    port = start_tls(ws, "first", "hsts = 1d\n");

    /* the page, with HSTS on the TLS port */
    assert_int_equal(sh(out, sizeof(out), "curl -sS --cacert %s/first.pem "
                        "--resolve localhost:%d:127.0.0.1 -D %s/head "
                        "-o %s/page https://localhost:%d/", ws->dir, port,
                        ws->dir, ws->dir, port), 0);
    snprintf(path, sizeof(path), "%s/page", ws->dir);
    got = ws_read_file(path, &len);
    assert_non_null(got);
    assert_string_equal(got, "<h1>hello over https</h1>\n");
    free(got);
    snprintf(path, sizeof(path), "%s/head", ws->dir);
    assert_true(ws_file_contains(path, "HTTP/1.1 200"));
    assert_true(ws_file_contains(path, "Strict-Transport-Security: max-age=86400"));

    /* no HSTS on the plain port */
    {
        struct http_resp r;
        assert_int_equal(http_get(ws->port, "/", &r), HTTP_OK);
        assert_int_equal(r.status, 200);
        assert_null(http_header(&r, "Strict-Transport-Security"));
        http_resp_free(&r);
    }

    /* 1 MiB */
    want = malloc(BIG_SIZE);
    assert_non_null(want);
    ws_random_fill(want, BIG_SIZE, BIG_SEED);
    assert_int_equal(sh(out, sizeof(out), "curl -sS --cacert %s/first.pem "
                        "--resolve localhost:%d:127.0.0.1 -o %s/big "
                        "https://localhost:%d/big.bin", ws->dir, port, ws->dir,
                        port), 0);
    snprintf(path, sizeof(path), "%s/big", ws->dir);
    got = ws_read_file(path, &len);
    assert_non_null(got);
    assert_int_equal(len, BIG_SIZE);
    assert_memory_equal(got, want, BIG_SIZE);
    free(got);

    /* a range */
    assert_int_equal(sh(out, sizeof(out), "curl -sS --cacert %s/first.pem "
                        "--resolve localhost:%d:127.0.0.1 -r 100000-299999 "
                        "-D %s/rhead -o %s/range https://localhost:%d/big.bin",
                        ws->dir, port, ws->dir, ws->dir, port), 0);
    snprintf(path, sizeof(path), "%s/range", ws->dir);
    got = ws_read_file(path, &len);
    assert_non_null(got);
    assert_int_equal(len, 200000);
    assert_memory_equal(got, want + 100000, 200000);
    free(got);
    snprintf(path, sizeof(path), "%s/rhead", ws->dir);
    assert_true(ws_file_contains(path, "HTTP/1.1 206"));
    free(want);
    ws->passed = true;
}

/* ---- Protocol ---- */

static void
test_tls_s_client_tls13_alpn(void **state)
{
    struct ws_server *ws = *state;
    char out[OUT_MAX];
    int port;

    make_cert(ws->dir, "first");
    write_files(ws);
    port = start_tls(ws, "first", NULL);
    assert_int_equal(s_client(out, sizeof(out), port, "-alpn http/1.1"), 0);
    if (strstr(out, "TLSv1.3") == NULL
        || strstr(out, "ALPN protocol: http/1.1") == NULL
        || strstr(out, "hello over https") == NULL)
        fail_msg("s_client said:\n%s", out);

    /* TLS 1.2 is on by default too */
    assert_int_equal(s_client(out, sizeof(out), port, "-tls1_2"), 0);
    if (strstr(out, "TLSv1.2") == NULL || strstr(out, "hello over https") == NULL)
        fail_msg("s_client -tls1_2 said:\n%s", out);
    ws->passed = true;
}

/* Three requests in one write, a 1 MiB file between two pages: the server
 * reads whole socket buffers through OpenSSL (read-ahead), so the later
 * requests wait in its buffer, not in the socket, and must be answered
 * without another edge; the 1 MiB answer spans several wake-ups (the
 * write budget). */
static void
test_tls_pipelined_requests(void **state)
{
    struct ws_server *ws = *state;
    char out[OUT_MAX];
    int port, rc;

    make_cert(ws->dir, "first");
    write_files(ws);
    port = start_tls(ws, "first", NULL);
    rc = sh(out, sizeof(out), "printf \"GET / HTTP/1.1\\r\\nHost: localhost\\r\\n"
            "\\r\\nGET /big.bin HTTP/1.1\\r\\nHost: localhost\\r\\n\\r\\n"
            "GET / HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n"
            "\\r\\n\" | openssl s_client -quiet -connect 127.0.0.1:%d "
            "-servername localhost -ign_eof 2>/dev/null "
            "| grep -a -o -e \"HTTP/1.1 200\" -e \"hello over https\" | wc -l",
            port);
    /* three status lines and two pages */
    if (rc != 0 || atoi(out) != 5)
        fail_msg("expected 5 matches, got (rc %d): %s", rc, out);
    ws->passed = true;
}

/* Tickets from one worker resume on the other: the ticket keys come from
 * the master. Sequential connections alternate between the two workers
 * (least-loaded, ties round-robin); the debug log shows both served. */
static void
test_tls_resumption_across_workers(void **state)
{
    struct ws_server *ws = *state;
    char out[OUT_MAX], opt[WS_PATH_MAX + 32];
    pid_t kids[WS_MAX_PROCS];
    int port, reused = 0;

    make_cert(ws->dir, "first");
    write_files(ws);
    port = start_tls(ws, "first", "processes = 2\nlog_level = debug\n");
    assert_int_equal(ws_wait_children(ws->pid, 2, WS_WAIT_MS, kids), 2);

    snprintf(opt, sizeof(opt), "-sess_out %s/sess", ws->dir);
    assert_int_equal(s_client(out, sizeof(out), port, opt), 0);
    if (strstr(out, "New, TLSv1.3") == NULL)
        fail_msg("first s_client said:\n%s", out);
    snprintf(opt, sizeof(opt), "-sess_in %s/sess", ws->dir);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(s_client(out, sizeof(out), port, opt), 0);
        if (strstr(out, "Reused, TLSv1.3") != NULL
            && strstr(out, "hello over https") != NULL)
            reused++;
        else
            print_error("s_client %d did not resume:\n%s\n", i, out);
    }
    assert_int_equal(reused, 6);
    /* both workers served TLS requests */
    assert_true(ws_file_contains(ws->error_log, "[worker 1]"));
    assert_true(ws_file_contains(ws->error_log, "[worker 2]"));
    {
        char *log = ws_read_file(ws->error_log, NULL);
        bool w1 = false, w2 = false;
        assert_non_null(log);
        for (char *line = strtok(log, "\n"); line != NULL;
             line = strtok(NULL, "\n")) {
            if (strstr(line, "READING -> PROCESSING") == NULL)
                continue;
            w1 = w1 || strstr(line, "[worker 1]") != NULL;
            w2 = w2 || strstr(line, "[worker 2]") != NULL;
        }
        free(log);
        assert_true(w1);
        assert_true(w2);
    }
    ws->passed = true;
}

/* How many lines of the log at PATH contain both A and B (B may be NULL). */
static int
log_count(const char *path, const char *a, const char *b)
{
    char *log = ws_read_file(path, NULL);
    int n = 0;

    assert_non_null(log);
    for (char *line = strtok(log, "\n"); line != NULL;
         line = strtok(NULL, "\n"))
        if (strstr(line, a) != NULL && (b == NULL || strstr(line, b) != NULL))
            n++;
    free(log);
    return n;
}

/* The handshake counts worker W logged at exit (notice): true when found. */
static bool
exit_counts(const char *path, int w, long *ok, long *resumed, long *failed)
{
    char *log = ws_read_file(path, NULL), tag[32];
    bool found = false;

    assert_non_null(log);
    snprintf(tag, sizeof(tag), "[worker %d]", w);
    for (char *line = strtok(log, "\n"); line != NULL;
         line = strtok(NULL, "\n")) {
        const char *p = strstr(line, "tls handshakes: ");
        if (p == NULL || strstr(line, tag) == NULL
            || strstr(line, "[notice]") == NULL)
            continue;
        found = sscanf(p, "tls handshakes: %ld ok, %ld resumed, %ld failed",
                       ok, resumed, failed) == 3;
    }
    free(log);
    return found;
}

/* TLS 1.2 resumes across workers too (a session ticket, no session
 * cache): the exit counts show resumed handshakes on both workers. */
static void
test_tls_resumption_tls12_across_workers(void **state)
{
    struct ws_server *ws = *state;
    char out[OUT_MAX], opt[WS_PATH_MAX + 64];
    pid_t kids[WS_MAX_PROCS];
    int port, reused = 0;
    long ok, resumed, failed, total_ok = 0;

    make_cert(ws->dir, "first");
    write_files(ws);
    port = start_tls(ws, "first", "processes = 2\n");
    assert_int_equal(ws_wait_children(ws->pid, 2, WS_WAIT_MS, kids), 2);

    snprintf(opt, sizeof(opt), "-tls1_2 -sess_out %s/sess12", ws->dir);
    assert_int_equal(s_client(out, sizeof(out), port, opt), 0);
    if (strstr(out, "New, TLSv1.2") == NULL)
        fail_msg("first s_client said:\n%s", out);
    snprintf(opt, sizeof(opt), "-tls1_2 -sess_in %s/sess12", ws->dir);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(s_client(out, sizeof(out), port, opt), 0);
        if (strstr(out, "Reused, TLSv1.2") != NULL
            && strstr(out, "hello over https") != NULL)
            reused++;
        else
            print_error("s_client %d did not resume:\n%s\n", i, out);
    }
    assert_int_equal(reused, 6);

    /* each worker counted its handshakes; both resumed some */
    assert_int_equal(ws_stop(ws), 0);
    for (int w = 1; w <= 2; w++) {
        if (!exit_counts(ws->error_log, w, &ok, &resumed, &failed))
            fail_msg("worker %d logged no handshake counts at exit", w);
        assert_true(resumed >= 1);
        assert_int_equal(failed, 0);
        total_ok += ok;
    }
    assert_int_equal(total_ok, 1);
    ws->passed = true;
}

/* ---- Bad clients ---- */

/* Connect to PORT, send DATA (may be NULL), and wait until the server
 * closes: true when it did (EOF or reset, nothing else). */
static bool
closed_by_server(int port, const char *data)
{
    struct http_conn c;
    char buf[4096];
    bool closed = false;
    int64_t deadline = ws_now_ms() + WS_WAIT_MS;

    if (http_conn_open(&c, port) != 0)
        return false;
    if (data != NULL && http_send(&c, data, strlen(data)) != HTTP_OK) {
        http_conn_close(&c);
        return true;        /* reset already */
    }
    while (ws_now_ms() < deadline) {
        ssize_t n;
        if (ws_wait_readable(&c.fd, 1, WS_WAIT_MS, NULL) != 1)
            break;
        n = recv(c.fd, buf, sizeof(buf), 0);
        if (n <= 0) {
            closed = true;
            break;
        }
        /* a TLS alert may come first; never an HTTP answer */
        if (n >= 5 && memcmp(buf, "HTTP/", 5) == 0)
            break;
    }
    http_conn_close(&c);
    return closed;
}

static void
test_tls_garbage_and_stalled_handshake_closed(void **state)
{
    struct ws_server *ws = *state;
    char out[OUT_MAX];
    int port;

    make_cert(ws->dir, "first");
    write_files(ws);
    port = start_tls(ws, "first", "header_timeout = 1s\nlog_level = info\n"
                     "processes = 1\n");

    assert_true(closed_by_server(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    assert_true(closed_by_server(port, "\x16\x03\x01\x00\x05garbage-garbage"));
    assert_true(closed_by_server(port, NULL));    /* says nothing: timeout */
    {
        /* the start of a ClientHello, then the client hangs up */
        struct http_conn c;
        assert_int_equal(http_conn_open(&c, port), 0);
        assert_int_equal(http_send(&c, "\x16\x03\x01\x02\x00\x01\x00\x01",
                                   8), HTTP_OK);
        http_conn_close(&c);
    }
    assert_true(ws_wait_file_contains(ws->error_log, "client closed the "
                                      "connection", WS_WAIT_MS));
    /* each failure once, at info, with its reason */
    assert_int_equal(log_count(ws->error_log, "TLS handshake failed", NULL),
                     4);
    assert_int_equal(log_count(ws->error_log, "TLS handshake failed",
                               "[info]"), 4);
    assert_int_equal(log_count(ws->error_log, "TLS handshake failed: ",
                               "http request"), 1);
    /* the silent client at least (OpenSSL may wait for the rest of the
     * garbage record too) */
    assert_true(log_count(ws->error_log, "TLS handshake failed: timed out",
                          NULL) >= 1);
    assert_int_equal(log_count(ws->error_log, "TLS handshake failed: the "
                               "client closed the connection", NULL), 1);
    /* (the master may warn about RLIMIT_NOFILE: not the workers') */
    assert_int_equal(log_count(ws->error_log, "[warn] [worker", NULL), 0);
    assert_false(ws_file_contains(ws->error_log, "[err]"));
    assert_false(ws_file_contains(ws->error_log, "[crit]"));

    /* everyone else is still served */
    assert_int_equal(s_client(out, sizeof(out), port, NULL), 0);
    if (strstr(out, "hello over https") == NULL)
        fail_msg("s_client said:\n%s", out);
    {
        struct http_resp r;
        assert_int_equal(http_get(ws->port, "/", &r), HTTP_OK);
        assert_int_equal(r.status, 200);
        http_resp_free(&r);
    }
    /* the worker's counts, at notice when it exits */
    assert_int_equal(ws_stop(ws), 0);
    {
        long ok, resumed, failed;
        assert_true(exit_counts(ws->error_log, 1, &ok, &resumed, &failed));
        assert_int_equal(ok, 1);
        assert_int_equal(resumed, 0);
        assert_int_equal(failed, 4);
    }
    /* (the master may warn about RLIMIT_NOFILE: not the workers') */
    assert_int_equal(log_count(ws->error_log, "[warn] [worker", NULL), 0);
    assert_false(ws_file_contains(ws->error_log, "[err]"));
    ws->passed = true;
}

/* ---- Reload ---- */

static void
write_tls_conf(struct ws_server *ws, const char *cert, const char *key)
{
    char conf[4096];

    snprintf(conf, sizeof(conf),
             "tls_port = 0\n"
             "tls_port_file = %s/tlsport\n"
             "tls_certificate = %s/%s.pem\n"
             "tls_certificate_key = %s/%s.key\n",
             ws->dir, ws->dir, cert, ws->dir, key);
    assert_int_equal(ws_write_config(ws, conf), 0);
}

static void
test_tls_reload_certificate_and_bad_key(void **state)
{
    struct ws_server *ws = *state;
    char out[OUT_MAX];
    int port;
    int64_t deadline;
    bool second = false;

    make_cert(ws->dir, "first");
    make_cert(ws->dir, "second");
    write_files(ws);
    port = start_tls(ws, "first", NULL);
    assert_int_equal(s_client(out, sizeof(out), port, NULL), 0);
    assert_non_null(strstr(out, "O = first"));

    /* a new certificate: new connections see it once the new generation
     * took over */
    write_tls_conf(ws, "second", "second");
    assert_int_equal(ws_signal(ws, SIGHUP), 0);
    deadline = ws_now_ms() + WS_WAIT_MS;
    while (!second && ws_now_ms() < deadline) {
        if (s_client(out, sizeof(out), port, NULL) == 0
            && strstr(out, "O = second") != NULL)
            second = true;
        else
            ws_sleep_ms(50);
    }
    assert_true(second);

    /* a key that does not match: -t names file:line and exits 1; a
     * reload keeps the running pair */
    write_tls_conf(ws, "first", "second");
    {
        const char *args[] = { "-t", "-c", ws->conf, NULL };
        struct ws_run_result res;
        char where[WS_PATH_MAX + 16];
        assert_int_equal(ws_run(args, NULL, WS_WAIT_MS, &res), 0);
        assert_int_equal(res.code, 1);
        snprintf(where, sizeof(where), "%s:4:", ws->conf);
        if (strstr(res.err, where) == NULL)
            fail_msg("-t said: %s", res.err);
        ws_run_result_free(&res);
    }
    assert_int_equal(ws_signal(ws, SIGHUP), 0);
    assert_true(ws_wait_file_contains(ws->error_log, "keeping the running "
                                      "configuration", WS_WAIT_MS));
    assert_int_equal(s_client(out, sizeof(out), port, NULL), 0);
    assert_non_null(strstr(out, "O = second"));
    assert_non_null(strstr(out, "hello over https"));
    ws->passed = true;
}

/* ---- redirect_to_https ---- */

static void
test_tls_redirect_to_https(void **state)
{
    struct ws_server *ws = *state;
    struct http_resp r;
    struct http_conn c;
    char want[128];
    int port;

    make_cert(ws->dir, "first");
    write_files(ws);
    port = start_tls(ws, "first", "redirect_to_https = on\n");

    assert_int_equal(http_conn_open(&c, ws->port), 0);
    assert_int_equal(http_request(&c, "GET", "/a/b.html?x=1", NULL, &r),
                     HTTP_OK);
    assert_int_equal(r.status, 308);
    snprintf(want, sizeof(want), "https://127.0.0.1:%d/a/b.html?x=1", port);
    assert_non_null(http_header(&r, "Location"));
    assert_string_equal(http_header(&r, "Location"), want);
    http_resp_free(&r);
    assert_int_equal(http_request(&c, "POST", "/login",
                                  "Content-Length: 0\r\n", &r), HTTP_OK);
    assert_int_equal(r.status, 403);
    http_resp_free(&r);
    http_conn_close(&c);

    /* the TLS port serves */
    {
        char out[OUT_MAX];
        assert_int_equal(s_client(out, sizeof(out), port, NULL), 0);
        assert_non_null(strstr(out, "HTTP/1.1 200"));
    }
    ws->passed = true;
}

/* ---- Login over HTTPS ---- */

static void
test_tls_login_cookie_secure(void **state)
{
    struct ws_redis_fx *f = *state;
    struct ws_server *ws = &f->ws;
    char out[OUT_MAX], more[256], path[WS_PATH_MAX + 32];
    int port;

    make_cert(ws->dir, "first");
    write_files(ws);
    snprintf(path, sizeof(path), "%s/login.html", ws->root);
    assert_int_equal(ws_write_text(path, "<h1>login</h1>\n"), 0);
    assert_int_equal(redis_start(&f->rs, ws->dir, NULL), 0);
    snprintf(more, sizeof(more), "redis_port = %d\n", f->rs.port);
    port = start_tls(ws, "first", more);

#define CURL "curl -sS --cacert %s/first.pem --resolve localhost:%d:127.0.0.1 "
    assert_int_equal(sh(out, sizeof(out), CURL "-D - -o /dev/null "
                        "-d username=tlsuser -d password=tls-pass-1 "
                        "https://localhost:%d/register", ws->dir, port, port), 0);
    if (strstr(out, " 303") == NULL)
        fail_msg("register said:\n%s", out);
    assert_int_equal(sh(out, sizeof(out), CURL "-D - -o /dev/null "
                        "-c %s/jar -d username=tlsuser -d password=tls-pass-1 "
                        "https://localhost:%d/login", ws->dir, port, ws->dir,
                        port), 0);
    if (strstr(out, " 303") == NULL || strstr(out, "Set-Cookie: sid=") == NULL
        || strstr(out, "; Secure") == NULL)
        fail_msg("login said:\n%s", out);
    assert_int_equal(sh(out, sizeof(out), CURL "-b %s/jar "
                        "https://localhost:%d/welcome", ws->dir, port,
                        ws->dir, port), 0);
    if (strstr(out, "tlsuser") == NULL)
        fail_msg("welcome said:\n%s", out);
#undef CURL

    /* the same login on the plain port: no Secure (cookie_secure auto) */
    assert_int_equal(sh(out, sizeof(out), "curl -sS -D - -o /dev/null "
                        "-d username=tlsuser -d password=tls-pass-1 "
                        "http://127.0.0.1:%d/login", ws->port), 0);
    if (strstr(out, "Set-Cookie: sid=") == NULL || strstr(out, "Secure") != NULL)
        fail_msg("plain login said:\n%s", out);
    ws->passed = true;
}

static int
setup(void **state)
{
    return ws_fixture_setup(state);
}

static int
teardown(void **state)
{
    return ws_fixture_teardown(state);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tls_curl_files_byte_for_byte,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_pipelined_requests,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_s_client_tls13_alpn,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_resumption_across_workers,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_tls_resumption_tls12_across_workers, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_tls_garbage_and_stalled_handshake_closed, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_tls_reload_certificate_and_bad_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_redirect_to_https,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_login_cookie_secure,
                                        ws_redis_fixture_setup,
                                        ws_redis_fixture_teardown),
    };

    return cmocka_run_group_tests_name("tls", tests, NULL, NULL);
}
