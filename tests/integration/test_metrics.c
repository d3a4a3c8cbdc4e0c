/* test_metrics.c - GET /metrics and GET /status on the real binary: exact
 * counts per status code, gauges of open connections, totals that survive
 * a kill -9 of every worker and reloads (and count them), redis_up
 * following the test's own Redis down and back, TLS handshakes (full,
 * resumed with openssl s_client, failed), status_allow (403 from
 * 127.0.0.2), the page's rows and headers, and (run as
 * `test_metrics --promtool`) `promtool check metrics` on a real exposition.
 *
 * A response is counted by the worker once it is written, which may be a
 * moment after the client has read it; and every scrape is a 200 itself.
 * So a test never reads a counter once and compares: it scrapes until the
 * expected values are there (with WS_WAIT_MS as the bound of a hang), and
 * fails at once when a counter is ever above what the test did, or below
 * a value it had already reached.
 * SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness.h"

#define FILE_BODY   "a small file\n"
#define SID         "sid=00112233445566778899aabbccddeeff" \
                    "00112233445566778899aabbccddeeff"

/* Scrapes of /metrics (each a 200) made on the server of this test. */
static long g_scrapes;

/* ---- Fixture ---- */

static int
setup(void **state)
{
    int rc = ws_redis_fixture_setup(state);
    struct ws_redis_fx *f;
    char path[WS_PATH_MAX + 32];

    if (rc != 0)
        return rc;
    f = *state;
    g_scrapes = 0;
    snprintf(path, sizeof(path), "%s/a.txt", f->ws.root);
    if (ws_write_text(path, FILE_BODY) != 0)
        return -1;
    snprintf(path, sizeof(path), "%s/dir/index.html", f->ws.root);
    return ws_write_text(path, "<p>dir</p>\n");
}

static int
teardown(void **state)
{
    return ws_redis_fixture_teardown(state);
}

static void
start(struct ws_redis_fx *f, const char *conf)
{
    if (ws_start_conf(&f->ws, conf) != 0)
        fail_msg("the server did not start");
}

/* ---- Requests ---- */

/* One request on a new connection (Connection: close); returns the status
 * (or fails the test). */
static int
request(int port, const char *method, const char *path, const char *extra)
{
    struct http_conn c;
    struct http_resp r;
    char hdr[512];
    int status;

    snprintf(hdr, sizeof(hdr), "Connection: close\r\n%s",
             extra != NULL ? extra : "");
    if (http_conn_open(&c, port) != 0)
        fail_msg("connect: %s", http_strerror());
    if (http_send_request(&c, method, path, hdr) != HTTP_OK
        || http_read_response(&c, strcmp(method, "HEAD") == 0, &r) != HTTP_OK)
        fail_msg("%s %s: %s", method, path, http_strerror());
    status = r.status;
    http_resp_free(&r);
    http_conn_close(&c);
    return status;
}

static void
requests(int port, int n, const char *method, const char *path, int want)
{
    for (int i = 0; i < n; i++) {
        int got = request(port, method, path, NULL);
        if (got != want)
            fail_msg("%s %s: %d, not %d", method, path, got, want);
    }
}

/* GET /metrics; the body (malloc'd), NULL when CLOSED_OK and the
 * connection closed before any byte of an answer, or a failed test. */
static char *
scrape_or_closed(int port, bool closed_ok)
{
    struct http_resp r;
    char *text;
    int rc = http_get(port, "/metrics", &r);

    if (rc == HTTP_CLOSED_EARLY && closed_ok)
        return NULL;
    if (rc != HTTP_OK)
        fail_msg("GET /metrics: %s", http_strerror());
    if (r.status != 200)
        fail_msg("GET /metrics: %d", r.status);
    g_scrapes++;
    text = strdup(r.body);
    http_resp_free(&r);
    assert_non_null(text);
    return text;
}

static char *
scrape(int port)
{
    return scrape_or_closed(port, false);
}

/* The value of SERIES ("name{label=\"v\"}" exactly as exposed) in TEXT,
 * or -1 when it is not there. */
static long long
value(const char *text, const char *series)
{
    size_t n = strlen(series);

    for (const char *p = text; p != NULL && *p != '\0';) {
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtoll(p + n + 1, NULL, 10);
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    return -1;
}

static long long
code_count(const char *text, int code)
{
    char series[96];
    long long v;

    snprintf(series, sizeof(series), "webserver_http_requests_total"
             "{code=\"%d\"}", code);
    v = value(text, series);
    return v < 0 ? 0 : v;          /* a code not seen yet is not listed */
}

struct want {
    int       code;
    long long n;            /* besides the scrapes, for code 200 */
};

/* Scrape until every code of W[0..n) has exactly its count (200: plus the
 * scrapes made before this one). A count above that fails at once. Returns
 * the last exposition (malloc'd). */
static char *
wait_counts(int port, const struct want *w, size_t n)
{
    int64_t deadline = ws_now_ms() + WS_WAIT_MS;

    for (;;) {
        long prior = g_scrapes;
        char *text = scrape(port);
        bool done = true;

        for (size_t i = 0; i < n; i++) {
            long long want = w[i].n + (w[i].code == 200 ? prior : 0);
            long long got = code_count(text, w[i].code);
            if (got > want)
                fail_msg("code %d counted %lld times, only %lld were sent:\n"
                         "%s", w[i].code, got, want, text);
            if (got < want)
                done = false;
        }
        if (done)
            return text;
        if (ws_now_ms() > deadline)
            fail_msg("the counts did not arrive:\n%s", text);
        free(text);
        ws_sleep_ms(20);
    }
}

/* The four connection gauges in TEXT equal R, W, I, Q? */
static bool
gauges_are(const char *text, int r, int w, int i, int q)
{
    return value(text, "webserver_connections{state=\"reading\"}") == r
           && value(text, "webserver_connections{state=\"writing\"}") == w
           && value(text, "webserver_connections{state=\"idle\"}") == i
           && value(text, "webserver_connections{state=\"waiting\"}") == q;
}

static char *
wait_gauges(int port, int r, int w, int i, int q)
{
    int64_t deadline = ws_now_ms() + WS_WAIT_MS;

    for (;;) {
        char *text = scrape(port);
        if (gauges_are(text, r, w, i, q))
            return text;
        if (ws_now_ms() > deadline)
            fail_msg("connections are not %d/%d/%d/%d:\n%s", r, w, i, q,
                     text);
        free(text);
        ws_sleep_ms(20);
    }
}

/* ---- Counts per code ---- */

static void
test_metrics_counts_per_code(void **state)
{
    static const struct want w[] = {
        { 200, 7 + 2 + 1 }, { 404, 5 }, { 405, 3 }, { 301, 4 }, { 403, 0 },
    };
    struct ws_redis_fx *f = *state;
    long long sum = 0, accepted, bytes;
    struct http_conn c;
    struct http_resp r;
    char *text;
    int port;

    start(f, "processes = 2\n");
    port = f->ws.port;
    text = scrape(port);            /* before anything: all zero */
    assert_int_equal(code_count(text, 404), 0);
    assert_int_equal(value(text, "webserver_http_request_duration_seconds_"
                                 "count"), 0);
    assert_int_equal(value(text, "webserver_workers"), 2);
    free(text);

    requests(port, 7, "GET", "/a.txt", 200);
    requests(port, 2, "HEAD", "/a.txt", 200);
    requests(port, 1, "OPTIONS", "*", 200);
    requests(port, 5, "GET", "/missing", 404);
    requests(port, 3, "POST", "/a.txt", 405);
    requests(port, 4, "GET", "/dir", 301);
    text = wait_counts(port, w, sizeof(w) / sizeof(w[0]));

    /* the histogram counts every response once; nothing else was sent */
    for (int code = 100; code < 600; code++)
        sum += code_count(text, code);
    assert_int_equal(sum, 7 + 2 + 1 + 5 + 3 + 4 + g_scrapes - 1);
    assert_int_equal(value(text, "webserver_http_request_duration_seconds_"
                                 "count"), sum);
    assert_int_equal(value(text, "webserver_http_request_duration_seconds_"
                                 "bucket{le=\"+Inf\"}"), sum);
    accepted = value(text, "webserver_connections_accepted_total");
    assert_true(accepted >= sum + 1);   /* and the harness's ready check */
    bytes = value(text, "webserver_http_response_bytes_total");
    assert_true(bytes >= 7 * (long long) strlen(FILE_BODY));
    free(text);

    /* every connection closed but the scrape's own, which is writing */
    text = wait_gauges(port, 0, 1, 0, 0);
    free(text);
    /* a keep-alive connection between requests is idle */
    if (http_conn_open(&c, port) != 0)
        fail_msg("connect: %s", http_strerror());
    assert_int_equal(http_request(&c, "GET", "/a.txt", NULL, &r), HTTP_OK);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    text = wait_gauges(port, 0, 1, 1, 0);
    free(text);
    /* and one that has sent half a head is reading */
    assert_int_equal(http_send(&c, "GET /a.txt HTTP/1.1\r\n", 21), HTTP_OK);
    text = wait_gauges(port, 1, 1, 0, 0);
    free(text);
    http_conn_close(&c);
    text = wait_gauges(port, 0, 1, 0, 0);
    free(text);
    f->ws.passed = true;
}

/* ---- Worker crashes ---- */

static void
test_metrics_kill_keeps_totals(void **state)
{
    static const struct want w[] = { { 404, 10 } };
    struct ws_redis_fx *f = *state;
    pid_t kids[WS_MAX_PROCS], now[WS_MAX_PROCS];
    long long last200 = 0;
    char *text;
    int port, n;

    start(f, "processes = 2\n");
    port = f->ws.port;
    requests(port, 10, "GET", "/missing", 404);
    free(wait_counts(port, w, 1));
    n = ws_wait_children(f->ws.pid, 2, WS_WAIT_MS, kids);
    assert_int_equal(n, 2);

    /* kill -9 each worker in turn: each had a share of the 404s (the
     * master hands new connections out round-robin between idle ones) */
    for (int k = 0; k < 2; k++) {
        char series[] = "webserver_worker_restarts_total";
        int64_t deadline = ws_now_ms() + WS_WAIT_MS;

        assert_int_equal(kill(kids[k], SIGKILL), 0);
        for (;;) {
            long long v404, v200;
            /* a connection the master handed to the worker as it died is
             * lost with it (closed before any answer): ask again */
            text = scrape_or_closed(port, true);
            if (text == NULL) {
                if (ws_now_ms() > deadline)
                    fail_msg("/metrics does not answer after a kill");
                continue;
            }
            v404 = code_count(text, 404);
            v200 = code_count(text, 200);
            if (v404 != 10)
                fail_msg("404 count is %lld after a kill, not 10:\n%s", v404,
                         text);
            if (v200 < last200)
                fail_msg("200 count went back from %lld to %lld", last200,
                         v200);
            last200 = v200;
            if (value(text, series) == k + 1
                && value(text, "webserver_workers") == 2
                && ws_children(f->ws.pid, now, WS_MAX_PROCS) == 2
                && !ws_pid_in(kids[k], now, 2)) {
                free(text);
                break;
            }
            if (ws_now_ms() > deadline)
                fail_msg("worker %d was not replaced:\n%s", (int) kids[k],
                         text);
            free(text);
            ws_sleep_ms(20);
        }
    }
    /* the respawned workers count on from there */
    requests(port, 3, "GET", "/missing", 404);
    {
        static const struct want w2[] = { { 404, 13 } };
        text = wait_counts(port, w2, 1);
    }
    assert_int_equal(value(text, "webserver_worker_restarts_total"), 2);
    free(text);
    f->ws.passed = true;
}

/* ---- Reloads ---- */

/* Scrape until SERIES is WANT, checking on every scrape that the 404
 * count is exactly N404 and that the 200 count never went back. */
static void
reload_watch(int port, const char *series, long long want, long long n404,
             long long *last200)
{
    int64_t deadline = ws_now_ms() + WS_WAIT_MS;

    for (;;) {
        char *text = scrape(port);
        long long v404 = code_count(text, 404), v200 = code_count(text, 200);

        if (v404 != n404)
            fail_msg("404 count is %lld during a reload, not %lld:\n%s",
                     v404, n404, text);
        if (v200 < *last200)
            fail_msg("200 count went back from %lld to %lld", *last200, v200);
        *last200 = v200;
        if (value(text, series) == want) {
            free(text);
            return;
        }
        if (ws_now_ms() > deadline)
            fail_msg("%s is not %lld:\n%s", series, want, text);
        free(text);
        ws_sleep_ms(20);
    }
}

static void
test_metrics_reloads(void **state)
{
    static const struct want w[] = { { 404, 10 } };
    static const char conf[] = "processes = 2\nshutdown_timeout = 5s\n";
    struct ws_redis_fx *f = *state;
    pid_t old[WS_MAX_PROCS];
    long long last200 = 0;
    char *text, bad[sizeof(conf) + 64];
    int port;

    start(f, conf);
    port = f->ws.port;
    requests(port, 10, "GET", "/missing", 404);
    free(wait_counts(port, w, 1));
    assert_int_equal(ws_wait_children(f->ws.pid, 2, WS_WAIT_MS, old), 2);

    assert_int_equal(ws_signal(&f->ws, SIGHUP), 0);
    reload_watch(port, "webserver_reloads_total{result=\"ok\"}", 1, 10,
                 &last200);
    /* the old generation leaves; its slots are folded into the totals */
    assert_int_equal(ws_wait_pids_gone(old, 2, WS_WAIT_MS), 0);
    reload_watch(port, "webserver_workers", 2, 10, &last200);
    text = scrape(port);
    assert_int_equal(code_count(text, 404), 10);
    assert_int_equal(value(text, "webserver_reloads_total{result=\"failed\"}"),
                     0);
    assert_int_equal(value(text, "webserver_worker_restarts_total"), 0);
    free(text);

    /* a config that does not parse: counted as failed, nothing else moves */
    snprintf(bad, sizeof(bad), "%sno_such_key = 1\n", conf);
    assert_int_equal(ws_write_config(&f->ws, bad), 0);
    assert_int_equal(ws_signal(&f->ws, SIGHUP), 0);
    reload_watch(port, "webserver_reloads_total{result=\"failed\"}", 1, 10,
                 &last200);
    text = scrape(port);
    assert_int_equal(value(text, "webserver_reloads_total{result=\"ok\"}"), 1);
    free(text);

    /* the new generation counts on top of the folded old one */
    requests(port, 3, "GET", "/missing", 404);
    {
        static const struct want w2[] = { { 404, 13 } };
        free(wait_counts(port, w2, 1));
    }
    f->ws.passed = true;
}

/* ---- Redis ---- */

/* Start redis-server again on PORT (where the server expects it) into R.
 * Returns 0 or -1. */
static int
redis_start_on(struct redis_server *r, const char *dir, int port)
{
    char portstr[16];
    int64_t deadline;
    pid_t pid;
    int fd;

    memset(r, 0, sizeof(*r));
    r->port = port;
    snprintf(r->dir, sizeof(r->dir), "%s", dir);
    snprintf(r->log, sizeof(r->log), "%s/redis-%d-again.log", dir, port);
    snprintf(portstr, sizeof(portstr), "%d", port);
    fd = open(r->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    pid = fork();
    if (pid < 0) {
        close(fd);
        return -1;
    }
    if (pid == 0) {
        const char *prog = getenv("REDIS_SERVER");
        if (prog == NULL || *prog == '\0')
            prog = "/usr/bin/redis-server";
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(fd, 1);
        dup2(fd, 2);
        execl(prog, prog, "--port", portstr, "--bind", "127.0.0.1", "--save",
              "", "--appendonly", "no", "--daemonize", "no", "--dir", dir,
              (char *) NULL);
        _exit(127);
    }
    close(fd);
    r->pid = pid;
    deadline = ws_now_ms() + WS_WAIT_MS;
    while (ws_now_ms() < deadline) {
        struct redis_reply rep;
        if (redis_query(port, NULL, &rep, "PING", NULL) == 0) {
            bool pong = rep.type == '+';
            redis_reply_free(&rep);
            if (pong)
                return 0;
        }
        ws_sleep_ms(20);
    }
    return -1;
}

/* Scrape until every redis_up line says UP (and there are N of them). */
static char *
wait_redis_up(int port, int n, int up, bool poke)
{
    int64_t deadline = ws_now_ms() + WS_WAIT_MS;

    for (;;) {
        char *text, *p;
        int lines = 0, match = 0;

        /* a worker connects on its first session request: a /welcome with
         * a well-formed but unknown session asks Redis (303 when it
         * answers, 503 while it is down). Two in a row, and a scrape: the
         * master hands idle workers connections in turn, so the workers
         * take turns at the /welcome requests too */
        if (poke) {
            request(port, "GET", "/welcome", "Cookie: " SID "\r\n");
            request(port, "GET", "/welcome", "Cookie: " SID "\r\n");
        }
        text = scrape(port);
        for (p = strstr(text, "\nwebserver_redis_up{"); p != NULL;
             p = strstr(p + 1, "\nwebserver_redis_up{")) {
            const char *v = strchr(p + 1, ' ');
            lines++;
            if (v != NULL && atoi(v + 1) == up)
                match++;
        }
        if (lines == n && match == n)
            return text;
        if (ws_now_ms() > deadline)
            fail_msg("redis_up is not %d on %d workers:\n%s", up, n, text);
        free(text);
        ws_sleep_ms(20);
    }
}

static void
test_metrics_redis_up(void **state)
{
    struct ws_redis_fx *f = *state;
    char conf[256], *text;
    long long timeouts;
    int port, rport;

    assert_int_equal(redis_start(&f->rs, f->ws.dir, NULL), 0);
    rport = f->rs.port;
    snprintf(conf, sizeof(conf), "processes = 2\nredis_port = %d\n"
             "redis_reconnect_min = 50ms\nredis_reconnect_max = 200ms\n"
             "redis_timeout = 300ms\n", rport);
    start(f, conf);
    port = f->ws.port;
    text = scrape(port);            /* nobody needed Redis yet */
    assert_int_equal(value(text, "webserver_redis_commands_total"
                                 "{result=\"ok\"}"), 0);
    free(text);
    text = wait_redis_up(port, 2, 1, true);
    assert_true(value(text, "webserver_redis_commands_total{result=\"ok\"}")
                >= 2);
    free(text);

    /* Redis goes away: each worker sees its connection close */
    redis_stop(&f->rs);
    free(wait_redis_up(port, 2, 0, false));
    /* and comes back on the same port: the workers reconnect by
     * themselves, without a request */
    assert_int_equal(redis_start_on(&f->rs, f->ws.dir, rport), 0);
    text = wait_redis_up(port, 2, 1, false);
    timeouts = value(text, "webserver_redis_commands_total"
                           "{result=\"timeout\"}");
    assert_int_equal(timeouts, 0);
    free(text);

    /* Redis hangs: the one command sent meanwhile gets no reply within
     * redis_timeout (the client answers 503) and counts as a timeout */
    assert_int_equal(kill(f->rs.pid, SIGSTOP), 0);
    assert_int_equal(request(port, "GET", "/welcome", "Cookie: " SID "\r\n"),
                     503);
    text = scrape(port);
    kill(f->rs.pid, SIGCONT);
    assert_int_equal(value(text, "webserver_redis_commands_total"
                                 "{result=\"timeout\"}"), 1);
    free(text);
    f->ws.passed = true;
}

/* ---- TLS handshakes ---- */

/* Run the shell command FMT (stderr with stdout) into OUT, bounded by
 * timeout(1) against a hang. Returns its exit code, or -1. */
static int __attribute__((format(printf, 3, 4)))
shell(char *out, size_t len, const char *fmt, ...)
{
    char cmd[2048], line[2300];
    size_t n = 0, k;
    va_list ap;
    FILE *p;
    int st;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    snprintf(line, sizeof(line), "timeout 60 sh -c '%s' 2>&1", cmd);
    p = popen(line, "r");
    if (p == NULL)
        return -1;
    while (n + 1 < len && (k = fread(out + n, 1, len - 1 - n, p)) > 0)
        n += k;
    out[n] = '\0';
    while (fread(line, 1, sizeof(line), p) > 0)
        ;                               /* the rest, so it can exit */
    st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* One openssl s_client run on PORT that sends a request; "New" or "Reused"
 * (1 for a resumed session, 0 for a full handshake). */
static int
s_client(int port, const char *sess_opt)
{
    char out[32768];
    int rc = shell(out, sizeof(out), "printf \"GET /a.txt HTTP/1.1\\r\\n"
                   "Host: localhost\\r\\nConnection: close\\r\\n\\r\\n\" "
                   "| openssl s_client -connect 127.0.0.1:%d -servername "
                   "localhost -ign_eof %s", port, sess_opt);

    if (rc != 0 || strstr(out, FILE_BODY) == NULL)
        fail_msg("openssl s_client (exit %d) said:\n%s", rc, out);
    if (strstr(out, "Reused, TLS") != NULL)
        return 1;
    if (strstr(out, "New, TLS") != NULL)
        return 0;
    fail_msg("openssl s_client said neither New nor Reused:\n%s", out);
    return -1;
}

static void
test_metrics_tls_handshakes(void **state)
{
    struct ws_redis_fx *f = *state;
    char conf[2048], out[8192], path[WS_PATH_MAX + 32], opt[WS_PATH_MAX + 32];
    int port, tport, full = 0, resumed = 0, fd;
    int64_t deadline;

    if (shell(out, sizeof(out), "openssl req -x509 -newkey ec -pkeyopt "
              "ec_paramgen_curve:prime256v1 -keyout %s/c.key -out %s/c.pem "
              "-days 2 -nodes -subj /CN=localhost", f->ws.dir, f->ws.dir) != 0)
        fail_msg("openssl req: %s", out);
    snprintf(conf, sizeof(conf), "processes = 2\ntls_port = 0\n"
             "tls_port_file = %s/tlsport\ntls_certificate = %s/c.pem\n"
             "tls_certificate_key = %s/c.key\n", f->ws.dir, f->ws.dir,
             f->ws.dir);
    start(f, conf);
    port = f->ws.port;
    snprintf(path, sizeof(path), "%s/tlsport", f->ws.dir);
    assert_true(ws_wait_exists(path, WS_WAIT_MS));
    tport = (int) ws_read_number(path);
    assert_true(tport > 0);

    /* a full handshake, then sessions resumed from its ticket (either
     * worker takes it: the ticket keys are the master's) */
    snprintf(opt, sizeof(opt), "-sess_out %s/sess", f->ws.dir);
    if (s_client(tport, opt) != 0)
        fail_msg("the first handshake was not a full one");
    full++;
    snprintf(opt, sizeof(opt), "-sess_in %s/sess", f->ws.dir);
    for (int i = 0; i < 3; i++) {
        if (s_client(tport, opt) == 1)
            resumed++;
        else
            full++;
    }
    assert_true(resumed > 0);
    /* plain HTTP on the TLS port: a failed handshake */
    {
        struct http_conn c;
        char buf[512];
        assert_int_equal(http_conn_open(&c, tport), 0);
        assert_int_equal(http_send(&c, "GET / HTTP/1.1\r\n\r\n", 18),
                         HTTP_OK);
        fd = c.fd;
        while (recv(fd, buf, sizeof(buf), 0) > 0)
            ;                           /* until the server closes */
        http_conn_close(&c);
    }

    deadline = ws_now_ms() + WS_WAIT_MS;
    for (;;) {
        char *text = scrape(port);
        long long ok = value(text, "webserver_tls_handshakes_total"
                                   "{result=\"ok\"}");
        long long re = value(text, "webserver_tls_handshakes_total"
                                   "{result=\"resumed\"}");
        long long bad = value(text, "webserver_tls_handshakes_total"
                                    "{result=\"failed\"}");
        if (ok > full || re > resumed || bad > 1)
            fail_msg("more handshakes than made (%d full, %d resumed, 1 "
                     "failed):\n%s", full, resumed, text);
        if (ok == full && re == resumed && bad == 1) {
            free(text);
            break;
        }
        if (ws_now_ms() > deadline)
            fail_msg("handshakes not counted (%d full, %d resumed, 1 "
                     "failed):\n%s", full, resumed, text);
        free(text);
        ws_sleep_ms(20);
    }
    f->ws.passed = true;
}

/* ---- Access ---- */

/* A request from 127.0.0.2 (the client socket bound there) to the server
 * on 127.0.0.1:PORT; R is filled in. */
static void
request_from_2(int port, const char *method, const char *path,
               struct http_resp *r)
{
    struct sockaddr_in a;
    struct http_conn c;
    struct timeval tv = { WS_IO_TIMEOUT_S, 0 };

    memset(&c, 0, sizeof(c));
    c.port = port;
    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(c.fd >= 0);
    setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(c.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.2", &a.sin_addr);
    if (bind(c.fd, (struct sockaddr *) &a, sizeof(a)) != 0)
        fail_msg("bind 127.0.0.2: %s", strerror(errno));
    a.sin_port = htons((uint16_t) port);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(c.fd, (struct sockaddr *) &a, sizeof(a)) != 0)
        fail_msg("connect from 127.0.0.2: %s", strerror(errno));
    if (http_request(&c, method, path, "Connection: close\r\n", r) != HTTP_OK)
        fail_msg("%s %s from 127.0.0.2: %s", method, path, http_strerror());
    http_conn_close(&c);
}

static void
assert_no_store(const struct http_resp *r)
{
    const char *cc = http_header(r, "Cache-Control");

    if (cc == NULL || strcmp(cc, "no-store") != 0)
        fail_msg("Cache-Control: %s", cc != NULL ? cc : "(none)");
}

static void
test_metrics_status_allow(void **state)
{
    static const char *const paths[] = { "/metrics", "/status" };
    static const char *const methods[] = { "GET", "HEAD" };
    struct ws_redis_fx *f = *state;
    struct http_resp r;
    int port;

    start(f, "status_allow = 127.0.0.1/32\n");
    port = f->ws.port;
    for (size_t i = 0; i < 2; i++) {
        for (size_t k = 0; k < 2; k++) {
            struct http_conn c;

            request_from_2(port, methods[k], paths[i], &r);
            if (r.status != 403)
                fail_msg("%s %s from 127.0.0.2: %d", methods[k], paths[i],
                         r.status);
            assert_no_store(&r);
            http_resp_free(&r);

            assert_int_equal(http_conn_open(&c, port), 0);
            assert_int_equal(http_request(&c, methods[k], paths[i],
                                          "Connection: close\r\n", &r),
                             HTTP_OK);
            if (r.status != 200)
                fail_msg("%s %s from 127.0.0.1: %d", methods[k], paths[i],
                         r.status);
            assert_no_store(&r);
            if (k == 1)
                assert_int_equal(r.body_len, 0);
            http_resp_free(&r);
            http_conn_close(&c);
        }
    }
    /* other files are anybody's */
    request_from_2(port, "GET", "/a.txt", &r);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    f->ws.passed = true;
}

/* ---- The page ---- */

static int
count(const char *text, const char *needle)
{
    int n = 0;

    for (const char *p = strstr(text, needle); p != NULL;
         p = strstr(p + 1, needle))
        n++;
    return n;
}

static void
test_metrics_status_page(void **state)
{
    struct ws_redis_fx *f = *state;
    struct http_resp r, h;
    struct http_conn c;
    const char *csp, *len;
    int port;

    start(f, "processes = 3\n");
    port = f->ws.port;
    requests(port, 3, "GET", "/a.txt", 200);
    assert_int_equal(http_get(port, "/status", &r), HTTP_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(http_header(&r, "Content-Type"),
                        "text/html; charset=utf-8");
    assert_no_store(&r);
    csp = http_header(&r, "Content-Security-Policy");
    assert_non_null(csp);
    assert_non_null(strstr(csp, "default-src 'none'"));
    assert_non_null(strstr(csp, "style-src 'self'"));
    /* one row per worker, a chart, no script, no inline style */
    assert_int_equal(count(r.body, "<tr class=\"worker-row"), 3);
    assert_int_equal(count(r.body, "<svg"), 1);
    assert_int_equal(count(r.body, "<script"), 0);
    assert_int_equal(count(r.body, "style="), 0);
    assert_int_equal(count(r.body, "<style"), 0);
    assert_int_equal(count(r.body, "href=\"/style.css\""), 1);
    assert_int_equal(count(r.body, "http-equiv=\"refresh\""), 1);
    len = http_header(&r, "Content-Length");
    assert_non_null(len);

    /* HEAD: the same head, no body */
    assert_int_equal(http_conn_open(&c, port), 0);
    assert_int_equal(http_request(&c, "HEAD", "/status",
                                  "Connection: close\r\n", &h), HTTP_OK);
    assert_int_equal(h.status, 200);
    assert_int_equal(h.body_len, 0);
    assert_string_equal(http_header(&h, "Content-Type"),
                        "text/html; charset=utf-8");
    assert_non_null(http_header(&h, "Content-Length"));
    http_resp_free(&h);
    http_conn_close(&c);
    http_resp_free(&r);

    /* a method the routes do not take */
    assert_int_equal(request(port, "POST", "/metrics", NULL), 405);
    assert_int_equal(request(port, "POST", "/status", NULL), 405);
    f->ws.passed = true;
}

/* ---- promtool ---- */

/* Run `promtool check metrics` with stdin from IN, output into OUT.
 * Returns its exit code, or -1 when it could not be started (errno). */
static int
promtool(const char *tool, const char *in, const char *out)
{
    int status, fi, fo;
    pid_t pid;

    fi = open(in, O_RDONLY | O_CLOEXEC);
    fo = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fi < 0 || fo < 0)
        return -1;
    pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(fi, 0);
        dup2(fo, 1);
        dup2(fo, 2);
        execl(tool, tool, "check", "metrics", (char *) NULL);
        _exit(127);
    }
    close(fi);
    close(fo);
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return -1;
    return ws_exit_code(status);
}

static const char *
promtool_path(void)
{
    const char *p = getenv("PROMTOOL");

    return p != NULL && *p != '\0' ? p : "/usr/bin/promtool";
}

static void
test_metrics_promtool(void **state)
{
    struct ws_redis_fx *f = *state;
    char in[WS_PATH_MAX + 16], out[WS_PATH_MAX + 16], *text, *report;
    struct http_conn c;
    struct http_resp r;
    int port, rc;

    start(f, "processes = 2\n");
    port = f->ws.port;
    /* several codes, a keep-alive connection left idle, session requests
     * without Redis (errors), so that most series have samples */
    requests(port, 3, "GET", "/a.txt", 200);
    requests(port, 2, "GET", "/missing", 404);
    requests(port, 1, "POST", "/a.txt", 405);
    requests(port, 2, "GET", "/welcome", 303);
    request(port, "GET", "/welcome", "Cookie: " SID "\r\n");
    assert_int_equal(http_conn_open(&c, port), 0);
    assert_int_equal(http_request(&c, "GET", "/a.txt", NULL, &r), HTTP_OK);
    http_resp_free(&r);
    text = scrape(port);
    http_conn_close(&c);

    snprintf(in, sizeof(in), "%s/metrics.txt", f->ws.dir);
    snprintf(out, sizeof(out), "%s/promtool.txt", f->ws.dir);
    assert_int_equal(ws_write_text(in, text), 0);
    rc = promtool(promtool_path(), in, out);
    report = ws_read_file(out, NULL);
    if (rc != 0)
        fail_msg("promtool check metrics: exit %d\n%s\n--- exposition:\n%s",
                 rc, report != NULL ? report : "", text);
    free(report);
    free(text);
    f->ws.passed = true;
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_metrics_counts_per_code, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_metrics_kill_keeps_totals, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_metrics_reloads, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_metrics_redis_up, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_metrics_tls_handshakes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_metrics_status_allow, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_metrics_status_page, setup,
                                        teardown),
    };
    const struct CMUnitTest prom[] = {
        cmocka_unit_test_setup_teardown(test_metrics_promtool, setup,
                                        teardown),
    };

    if (argc > 1 && strcmp(argv[1], "--promtool") == 0) {
        const char *req = getenv("WEBSERVER_REQUIRE_TOOLS");
        const char *ci = getenv("CI");

        if (access(promtool_path(), X_OK) != 0) {
            /* tools/test.sh installs it (and says so in the environment):
             * missing there is a failure; by hand, a skip */
            if ((req != NULL && *req != '\0' && strcmp(req, "0") != 0)
                || (ci != NULL && *ci != '\0')) {
                printf("metrics_promtool: %s: %s, and it is required here "
                       "(Debian package prometheus)\n", promtool_path(),
                       strerror(errno));
                return 1;
            }
            printf("metrics_promtool: skipped: %s: %s (Debian package "
                   "prometheus; tools/test.sh installs it)\n",
                   promtool_path(), strerror(errno));
            return WS_EXIT_SKIP;
        }
        return cmocka_run_group_tests_name("metrics_promtool", prom, NULL,
                                           NULL);
    }
    return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
