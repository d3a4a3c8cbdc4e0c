/* test_http.c - the HTTP engine end to end against the real binary: static
 * files, conditional and range requests, keep-alive, pipelining, error
 * answers and closes, request bodies, path traversal. Each test starts its
 * own server on an ephemeral port; every wait is bounded.
 * SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness.h"

/* idle timeouts far beyond CLOSE_MS: a close within it is the server's
 * answer to the request, never a timeout */
#define CONF          "processes = 2\nkeepalive_timeout = 60s\n" \
                      "header_timeout = 60s\n"
#define DATA_SIZE     1000
#define DATA_SEED     7
#define DATA_MTIME    1600000000            /* Sun, 13 Sep 2020 12:26:40 GMT */
#define DATA_MTIME_S  "Sun, 13 Sep 2020 12:26:40 GMT"
#define INDEX_TEXT    "<html><body>root index</body></html>\n"
#define SUB_TEXT      "<html><body>sub index</body></html>\n"
#define A_TEXT        "file a\n"
#define B_TEXT        "file b, a little longer\n"
#define C_TEXT        "file c, longer still than file b\n"
#define SECRET        "S3CR3T-MARKER-do-not-serve"
#define CLOSE_MS      WS_WAIT_MS /* bounds a hang: closes come at once */
#define QUIET_MS      200       /* how long "nothing more arrives" is watched */

/* ---- Fixture ---- */

static void
put_file(const struct ws_server *ws, const char *rel, const char *text)
{
    char path[WS_PATH_MAX + 128];

    snprintf(path, sizeof(path), "%s/%s", ws->root, rel);
    assert_int_equal(ws_write_text(path, text), 0);
}

/* Document root with files, dotfiles, a directory, and a secret file
 * outside root with symlinks pointing at it. */
static int
setup(void **state)
{
    struct ws_server *ws = calloc(1, sizeof(*ws));
    char path[WS_PATH_MAX + 128], target[WS_PATH_MAX + 128];
    struct timespec ts[2] = { { DATA_MTIME, 0 }, { DATA_MTIME, 0 } };

    if (ws == NULL || ws_init(ws) == -1) {
        free(ws);
        return -1;
    }
    *state = ws;
    put_file(ws, "index.html", INDEX_TEXT);
    put_file(ws, "sub/index.html", SUB_TEXT);
    put_file(ws, "a.txt", A_TEXT);
    put_file(ws, "b.txt", B_TEXT);
    put_file(ws, "c.txt", C_TEXT);
    put_file(ws, "page.html", "<p>html</p>\n");
    put_file(ws, "style.css", "p { color: red; }\n");
    put_file(ws, "app.js", "console.log(1);\n");
    put_file(ws, "data.json", "{\"a\": 1}\n");
    put_file(ws, "img.png", "\x89PNG fake");
    put_file(ws, "photo.jpg", "\xff\xd8\xff fake");
    put_file(ws, "movie.mp4", "ftyp fake");
    put_file(ws, ".secret", SECRET "\n");
    put_file(ws, ".git/config", SECRET "\n");
    put_file(ws, "sub/.hidden", SECRET "\n");

    snprintf(path, sizeof(path), "%s/data.bin", ws->root);
    if (ws_write_random_file(path, DATA_SIZE, DATA_SEED) == -1
        || utimensat(AT_FDCWD, path, ts, 0) == -1) {
        return -1;
    }

    /* outside root: DIR/secret.txt and DIR/outside/secret2.txt */
    snprintf(target, sizeof(target), "%s/secret.txt", ws->dir);
    if (ws_write_text(target, SECRET "\n") == -1) {
        return -1;
    }
    snprintf(path, sizeof(path), "%s/link_file", ws->root);
    if (symlink(target, path) == -1) {
        return -1;
    }
    snprintf(path, sizeof(path), "%s/link_rel", ws->root);
    if (symlink("../secret.txt", path) == -1) {
        return -1;
    }
    snprintf(target, sizeof(target), "%s/outside/secret2.txt", ws->dir);
    if (ws_write_text(target, SECRET "\n") == -1) {
        return -1;
    }
    snprintf(target, sizeof(target), "%s/outside", ws->dir);
    snprintf(path, sizeof(path), "%s/link_dir", ws->root);
    if (symlink(target, path) == -1) {
        return -1;
    }
    snprintf(path, sizeof(path), "%s/link_dir_rel", ws->root);
    if (symlink("../outside", path) == -1) {
        return -1;
    }
    return 0;
}

static void
start(struct ws_server *ws, const char *conf)
{
    assert_int_equal(ws_start_conf(ws, conf), 0);
}

/* ---- Client helpers ---- */

static void
open_conn(struct ws_server *ws, struct http_conn *c)
{
    if (http_conn_open(c, ws->port) == -1) {
        fail_msg("connect: %s", http_strerror());
    }
}

/* One request on C; fails the test when no complete response arrives. */
static void
req(struct http_conn *c, const char *method, const char *path,
    const char *extra, struct http_resp *r)
{
    int rc = http_request(c, method, path, extra, r);

    if (rc != HTTP_OK) {
        fail_msg("%s %s: %s (rc %d)", method, path, http_strerror(), rc);
    }
}

/* Send LEN raw bytes on C and read one response. */
static void
raw_req(struct http_conn *c, const char *data, size_t len, bool head,
        struct http_resp *r)
{
    int rc = http_send(c, data, len);

    if (rc != HTTP_OK) {
        fail_msg("send %.40s...: %s", data, http_strerror());
    }
    rc = http_read_response(c, head, r);
    if (rc != HTTP_OK) {
        fail_msg("response to %.60s...: %s (rc %d)", data, http_strerror(),
                 rc);
    }
}

/* Wait at most TIMEOUT_MS for the server to close C (EOF or reset).
 * Returns the ms waited, or -1 on timeout. Bytes that still arrive (and
 * bytes left unread in C's buffer) are added to *EXTRA. */
static int64_t
wait_closed(struct http_conn *c, int timeout_ms, size_t *extra)
{
    int64_t t0 = ws_now_ms(), deadline = t0 + timeout_ms;
    char tmp[65536];

    *extra = c->len;
    if (c->eof) {
        return 0;
    }
    for (;;) {
        struct pollfd p = { .fd = c->fd, .events = POLLIN };
        int left = (int) (deadline - ws_now_ms()), n;
        ssize_t got;

        if (left <= 0) {
            return -1;
        }
        n = poll(&p, 1, left);
        if (n == -1 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return -1;
        }
        got = recv(c->fd, tmp, sizeof(tmp), MSG_DONTWAIT);
        if (got == 0 || (got == -1 && errno != EINTR && errno != EAGAIN)) {
            return ws_now_ms() - t0;
        }
        if (got > 0) {
            *extra += (size_t) got;
        }
    }
}

/* The server sent nothing after the last response and left C open. */
static void
assert_quiet_open(struct http_conn *c)
{
    struct pollfd p = { .fd = c->fd, .events = POLLIN };
    char tmp[256];
    ssize_t got;

    if (c->len != 0) {
        fail_msg("%zu unexpected bytes after the response: '%.60s'", c->len,
                 c->buf);
    }
    if (poll(&p, 1, QUIET_MS) == 1) {
        got = recv(c->fd, tmp, sizeof(tmp) - 1, MSG_DONTWAIT);
        if (got == 0) {
            fail_msg("server closed a keep-alive connection");
        }
        if (got > 0) {
            tmp[got] = '\0';
            fail_msg("%zd unexpected bytes after the response: '%.60s'", got,
                     tmp);
        }
    }
}

static void
assert_closed(struct http_conn *c, const char *what)
{
    size_t extra = 0;
    int64_t ms = wait_closed(c, CLOSE_MS, &extra);

    if (ms < 0) {
        fail_msg("%s: server did not close within %d ms", what, CLOSE_MS);
    }
    if (extra != 0) {
        fail_msg("%s: %zu bytes after the response", what, extra);
    }
}

static void
assert_header(const struct http_resp *r, const char *name, const char *want)
{
    const char *v = http_header(r, name);

    if (v == NULL) {
        fail_msg("no %s header (status %d)", name, r->status);
    }
    if (strcmp(v, want) != 0) {
        fail_msg("%s: '%s', want '%s'", name, v, want);
    }
}

static bool
has_close(const struct http_resp *r)
{
    const char *v = http_header(r, "Connection");
    return v != NULL && strcasestr(v, "close") != NULL;
}

static size_t
count_header(const struct http_resp *r, const char *name)
{
    size_t n = 0;

    for (size_t i = 0; i < r->nheaders; i++) {
        n += strcasecmp(r->headers[i].name, name) == 0;
    }
    return n;
}

/* No worker died: the master logs every child killed by a signal. */
static void
assert_no_crash(const struct ws_server *ws)
{
    if (ws_file_contains(ws->error_log, "killed by signal")) {
        fail_msg("a worker crashed (see error.log)");
    }
}

static char *
data_bytes(void)
{
    char *d = malloc(DATA_SIZE);

    assert_non_null(d);
    ws_random_fill(d, DATA_SIZE, DATA_SEED);
    return d;
}

/* HTTP-date (IMF-fixdate) to time_t, or -1. */
static time_t
parse_date(const char *s)
{
    struct tm tm;
    const char *end;

    memset(&tm, 0, sizeof(tm));
    end = strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (end == NULL || *end != '\0') {
        return -1;
    }
    return timegm(&tm);
}

/* ---- Static files ---- */

static void
test_http_get_file_headers(void **state)
{
    struct ws_server *ws = *state;
    struct http_resp r;
    struct http_conn c;
    char *expect = data_bytes();
    const char *etag, *date, *server;
    char etag1[128];
    time_t t;

    start(ws, CONF);
    open_conn(ws, &c);
    req(&c, "GET", "/data.bin", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.minor, 1);
    assert_header(&r, "Content-Length", "1000");
    assert_int_equal(r.body_len, DATA_SIZE);
    assert_memory_equal(r.body, expect, DATA_SIZE);
    assert_header(&r, "Content-Type", "application/octet-stream");
    assert_header(&r, "Last-Modified", DATA_MTIME_S);
    assert_header(&r, "Accept-Ranges", "bytes");
    etag = http_header(&r, "ETag");
    assert_non_null(etag);
    /* strong: "..." without W/ */
    if (etag[0] != '"' || strlen(etag) < 3 || etag[strlen(etag) - 1] != '"') {
        fail_msg("ETag '%s' is not a strong entity tag", etag);
    }
    snprintf(etag1, sizeof(etag1), "%s", etag);
    date = http_header(&r, "Date");
    assert_non_null(date);
    t = parse_date(date);
    if (t == -1 || labs((long) (t - time(NULL))) > 60) {
        fail_msg("Date '%s' is not an IMF-fixdate near now", date);
    }
    server = http_header(&r, "Server");
    assert_non_null(server);
    assert_true(server[0] != '\0');
    assert_true(r.keepalive);
    http_resp_free(&r);

    /* the same ETag the second time */
    req(&c, "GET", "/data.bin", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_header(&r, "ETag", etag1);
    http_resp_free(&r);

    /* and 404 for what is not there */
    req(&c, "GET", "/no/such/file.txt", NULL, &r);
    assert_int_equal(r.status, 404);
    http_resp_free(&r);
    http_conn_close(&c);
    free(expect);
    ws->passed = true;
}

static void
test_http_head_same_headers_no_body(void **state)
{
    static const char *const names[] = {
        "Content-Length", "Content-Type", "Last-Modified", "ETag",
        "Accept-Ranges",
    };
    static const char *const paths[] = { "/data.bin", "/index.html", "/" };
    struct ws_server *ws = *state;
    struct http_resp g, h;
    struct http_conn c;

    start(ws, CONF);
    open_conn(ws, &c);
    for (size_t p = 0; p < sizeof(paths) / sizeof(paths[0]); p++) {
        req(&c, "GET", paths[p], NULL, &g);
        req(&c, "HEAD", paths[p], NULL, &h);
        assert_int_equal(g.status, 200);
        assert_int_equal(h.status, 200);
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            const char *gv = http_header(&g, names[i]);
            const char *hv = http_header(&h, names[i]);
            if (gv == NULL || hv == NULL || strcmp(gv, hv) != 0) {
                fail_msg("%s %s: GET '%s', HEAD '%s'", paths[p], names[i],
                         gv ? gv : "(none)", hv ? hv : "(none)");
            }
        }
        assert_non_null(http_header(&h, "Date"));
        assert_non_null(http_header(&h, "Server"));
        assert_true(h.keepalive);
        /* no body bytes follow the HEAD response */
        assert_quiet_open(&c);
        http_resp_free(&g);
        http_resp_free(&h);
    }
    /* the connection is still in sync */
    req(&c, "GET", "/a.txt", NULL, &g);
    assert_int_equal(g.status, 200);
    assert_string_equal(g.body, A_TEXT);
    http_resp_free(&g);
    http_conn_close(&c);
    ws->passed = true;
}

static void
test_http_mime_types(void **state)
{
    static const struct {
        int line;
        const char *path;
        const char *type;       /* exact Content-Type */
        const char *alt;        /* also accepted, or NULL */
    } cases[] = {
        { __LINE__, "/page.html", "text/html; charset=utf-8", NULL },
        { __LINE__, "/index.html", "text/html; charset=utf-8", NULL },
        { __LINE__, "/style.css", "text/css; charset=utf-8", NULL },
        { __LINE__, "/app.js", "text/javascript; charset=utf-8",
          "application/javascript; charset=utf-8" },
        { __LINE__, "/a.txt", "text/plain; charset=utf-8", NULL },
        { __LINE__, "/data.json", "application/json",
          "application/json; charset=utf-8" },
        { __LINE__, "/img.png", "image/png", NULL },
        { __LINE__, "/photo.jpg", "image/jpeg", NULL },
        { __LINE__, "/movie.mp4", "video/mp4", NULL },
        { __LINE__, "/data.bin", "application/octet-stream", NULL },
    };
    struct ws_server *ws = *state;
    struct http_resp r;
    struct http_conn c;

    start(ws, CONF);
    open_conn(ws, &c);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *ct;

        req(&c, "GET", cases[i].path, NULL, &r);
        if (r.status != 200) {
            fail_msg("line %d: %s: status %d", cases[i].line, cases[i].path,
                     r.status);
        }
        ct = http_header(&r, "Content-Type");
        if (ct == NULL || (strcasecmp(ct, cases[i].type) != 0
                           && (cases[i].alt == NULL
                               || strcasecmp(ct, cases[i].alt) != 0))) {
            fail_msg("line %d: %s: Content-Type '%s', want '%s'",
                     cases[i].line, cases[i].path, ct ? ct : "(none)",
                     cases[i].type);
        }
        http_resp_free(&r);
    }
    http_conn_close(&c);
    ws->passed = true;
}

static void
test_http_directory_index(void **state)
{
    struct ws_server *ws = *state;
    struct http_resp r;
    struct http_conn c;

    start(ws, CONF);
    open_conn(ws, &c);
    req(&c, "GET", "/", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, INDEX_TEXT);
    assert_header(&r, "Content-Type", "text/html; charset=utf-8");
    http_resp_free(&r);
    req(&c, "GET", "/sub/", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, SUB_TEXT);
    http_resp_free(&r);
    req(&c, "GET", "/sub/?q=1", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, SUB_TEXT);
    http_resp_free(&r);
    http_conn_close(&c);
    ws->passed = true;
}

/* Location is "PATH" or an absolute URL ending in it. */
static void
assert_location(const struct http_resp *r, const char *want)
{
    const char *loc = http_header(r, "Location");
    size_t ll, wl = strlen(want);

    if (loc == NULL) {
        fail_msg("301 without Location");
    }
    ll = strlen(loc);
    if (strcmp(loc, want) == 0) {
        return;
    }
    if (strncmp(loc, "http://", 7) == 0 && ll > wl
        && strcmp(loc + ll - wl, want) == 0
        && strchr(loc + 7, '/') == loc + ll - wl) {
        return;
    }
    fail_msg("Location '%s', want '%s'", loc, want);
}

static void
test_http_directory_redirect_keeps_query(void **state)
{
    struct ws_server *ws = *state;
    struct http_resp r;
    struct http_conn c;

    start(ws, CONF);
    open_conn(ws, &c);
    req(&c, "GET", "/sub", NULL, &r);
    assert_int_equal(r.status, 301);
    assert_location(&r, "/sub/");
    http_resp_free(&r);

    req(&c, "GET", "/sub?x=1&y=two", NULL, &r);
    assert_int_equal(r.status, 301);
    assert_location(&r, "/sub/?x=1&y=two");
    http_resp_free(&r);

    req(&c, "HEAD", "/sub", NULL, &r);
    assert_int_equal(r.status, 301);
    assert_location(&r, "/sub/");
    http_resp_free(&r);

    /* the connection survives the redirects */
    assert_quiet_open(&c);
    req(&c, "GET", "/sub/", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, SUB_TEXT);
    http_resp_free(&r);
    http_conn_close(&c);
    ws->passed = true;
}

static void
test_http_dotfiles_404(void **state)
{
    static const char *const paths[] = {
        "/.secret", "/.git/config", "/.git/", "/sub/.hidden", "/%2esecret",
        "/sub/%2Ehidden",
    };
    struct ws_server *ws = *state;
    struct http_resp r;
    struct http_conn c;

    start(ws, CONF);
    open_conn(ws, &c);
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        req(&c, "GET", paths[i], NULL, &r);
        if (r.status != 404 || memmem(r.body, r.body_len, SECRET,
                                      strlen(SECRET)) != NULL) {
            fail_msg("%s: status %d, want 404 without the file", paths[i],
                     r.status);
        }
        http_resp_free(&r);
    }
    http_conn_close(&c);
    ws->passed = true;
}

/* ---- Conditional GET ---- */

static void
get_etag(struct http_conn *c, const char *path, char *out, size_t len)
{
    struct http_resp r;
    const char *e;

    req(c, "GET", path, NULL, &r);
    assert_int_equal(r.status, 200);
    e = http_header(&r, "ETag");
    assert_non_null(e);
    snprintf(out, len, "%s", e);
    http_resp_free(&r);
}

/* Request PATH with header line EXTRA; expect STATUS (304: no body). */
static void
expect_status(struct http_conn *c, const char *method, const char *path,
              const char *extra, int status, int line)
{
    struct http_resp r;

    req(c, method, path, extra, &r);
    if (r.status != status) {
        fail_msg("line %d: %s %s with '%s': status %d, want %d", line,
                 method, path, extra, r.status, status);
    }
    if (status == 304) {
        if (http_header(&r, "ETag") == NULL) {
            fail_msg("line %d: 304 without ETag", line);
        }
        assert_int_equal(r.body_len, 0);
        /* no body bytes follow a 304 */
        assert_quiet_open(c);
    }
    if (status == 200 && strcmp(method, "GET") == 0) {
        assert_int_equal(r.body_len, DATA_SIZE);
    }
    http_resp_free(&r);
}

static void
test_http_if_none_match(void **state)
{
    struct ws_server *ws = *state;
    struct http_conn c;
    char etag[128], h[512], old[128];
    char path[WS_PATH_MAX + 32];
    struct timespec ts[2] = { { DATA_MTIME + 100, 0 },
                              { DATA_MTIME + 100, 0 } };

    start(ws, CONF);
    open_conn(ws, &c);
    get_etag(&c, "/data.bin", etag, sizeof(etag));

    snprintf(h, sizeof(h), "If-None-Match: %s\r\n", etag);
    expect_status(&c, "GET", "/data.bin", h, 304, __LINE__);
    expect_status(&c, "HEAD", "/data.bin", h, 304, __LINE__);
    snprintf(h, sizeof(h), "If-None-Match: W/%s\r\n", etag);
    expect_status(&c, "GET", "/data.bin", h, 304, __LINE__);
    snprintf(h, sizeof(h), "If-None-Match: \"nope\", %s, \"other\"\r\n",
             etag);
    expect_status(&c, "GET", "/data.bin", h, 304, __LINE__);
    snprintf(h, sizeof(h), "If-None-Match: \"nope\",W/%s\r\n", etag);
    expect_status(&c, "GET", "/data.bin", h, 304, __LINE__);
    expect_status(&c, "GET", "/data.bin", "If-None-Match: *\r\n", 304,
                  __LINE__);
    expect_status(&c, "GET", "/data.bin",
                  "If-None-Match: \"nope\", \"other\"\r\n", 200, __LINE__);
    /* If-None-Match wins over If-Modified-Since */
    snprintf(h, sizeof(h), "If-None-Match: \"nope\"\r\n"
             "If-Modified-Since: %s\r\n", DATA_MTIME_S);
    expect_status(&c, "GET", "/data.bin", h, 200, __LINE__);

    /* the file changes: the old tag no longer matches */
    snprintf(old, sizeof(old), "%s", etag);
    snprintf(path, sizeof(path), "%s/data.bin", ws->root);
    assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
    get_etag(&c, "/data.bin", etag, sizeof(etag));
    assert_string_not_equal(etag, old);
    snprintf(h, sizeof(h), "If-None-Match: %s\r\n", old);
    expect_status(&c, "GET", "/data.bin", h, 200, __LINE__);
    snprintf(h, sizeof(h), "If-None-Match: %s\r\n", etag);
    expect_status(&c, "GET", "/data.bin", h, 304, __LINE__);
    http_conn_close(&c);
    ws->passed = true;
}

static void
test_http_if_modified_since(void **state)
{
    struct ws_server *ws = *state;
    struct http_conn c;

    start(ws, CONF);
    open_conn(ws, &c);
    expect_status(&c, "GET", "/data.bin",
                  "If-Modified-Since: " DATA_MTIME_S "\r\n", 304, __LINE__);
    expect_status(&c, "HEAD", "/data.bin",
                  "If-Modified-Since: " DATA_MTIME_S "\r\n", 304, __LINE__);
    /* a day later than the file */
    expect_status(&c, "GET", "/data.bin",
                  "If-Modified-Since: Mon, 14 Sep 2020 12:26:40 GMT\r\n",
                  304, __LINE__);
    /* a second earlier: modified since then */
    expect_status(&c, "GET", "/data.bin",
                  "If-Modified-Since: Sun, 13 Sep 2020 12:26:39 GMT\r\n",
                  200, __LINE__);
    expect_status(&c, "GET", "/data.bin",
                  "If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n",
                  200, __LINE__);
    /* not a date: ignored */
    expect_status(&c, "GET", "/data.bin",
                  "If-Modified-Since: yesterday\r\n", 200, __LINE__);
    http_conn_close(&c);
    ws->passed = true;
}

/* ---- Range ---- */

static void
expect_range(struct http_conn *c, const char *range, long first, long last,
             int line)
{
    char h[256], cr[128], cl[32];
    char *data = data_bytes();
    struct http_resp r;

    snprintf(h, sizeof(h), "Range: %s\r\n", range);
    req(c, "GET", "/data.bin", h, &r);
    if (r.status != 206) {
        fail_msg("line %d: Range '%s': status %d, want 206", line, range,
                 r.status);
    }
    snprintf(cr, sizeof(cr), "bytes %ld-%ld/%d", first, last, DATA_SIZE);
    assert_header(&r, "Content-Range", cr);
    snprintf(cl, sizeof(cl), "%ld", last - first + 1);
    assert_header(&r, "Content-Length", cl);
    if (r.body_len != (size_t) (last - first + 1)
        || memcmp(r.body, data + first, r.body_len) != 0) {
        fail_msg("line %d: Range '%s': wrong %zu body bytes", line, range,
                 r.body_len);
    }
    http_resp_free(&r);
    free(data);
}

static void
test_http_range_forms(void **state)
{
    struct ws_server *ws = *state;
    struct http_conn c;

    start(ws, CONF);
    open_conn(ws, &c);
    expect_range(&c, "bytes=0-99", 0, 99, __LINE__);
    expect_range(&c, "bytes=100-100", 100, 100, __LINE__);
    expect_range(&c, "bytes=990-", 990, 999, __LINE__);
    expect_range(&c, "bytes=0-", 0, 999, __LINE__);
    expect_range(&c, "bytes=-5", 995, 999, __LINE__);
    expect_range(&c, "bytes=-5000", 0, 999, __LINE__);
    expect_range(&c, "bytes=500-5000", 500, 999, __LINE__);
    expect_range(&c, "bytes=999-999", 999, 999, __LINE__);
    /* still in sync after all of them */
    assert_quiet_open(&c);
    http_conn_close(&c);
    ws->passed = true;
}

static void
test_http_range_unsatisfiable_416(void **state)
{
    static const char *const ranges[] = {
        "bytes=1000-", "bytes=1000-1001", "bytes=5000-6000", "bytes=-0",
    };
    struct ws_server *ws = *state;
    struct http_resp r;
    struct http_conn c;
    char h[128];

    start(ws, CONF);
    for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
        open_conn(ws, &c);
        snprintf(h, sizeof(h), "Range: %s\r\n", ranges[i]);
        req(&c, "GET", "/data.bin", h, &r);
        if (r.status != 416) {
            fail_msg("Range '%s': status %d, want 416", ranges[i], r.status);
        }
        if (count_header(&r, "Content-Range") != 1) {
            fail_msg("Range '%s': %zu Content-Range headers, first '%s'",
                     ranges[i], count_header(&r, "Content-Range"),
                     http_header(&r, "Content-Range"));
        }
        assert_header(&r, "Content-Range", "bytes */1000");
        /* whatever the body, not the file */
        if (r.body_len == DATA_SIZE) {
            char *data = data_bytes();
            bool same = memcmp(r.body, data, DATA_SIZE) == 0;
            free(data);
            assert_false(same);
        }
        http_resp_free(&r);
        http_conn_close(&c);
    }
    ws->passed = true;
}

static void
test_http_if_range(void **state)
{
    struct ws_server *ws = *state;
    struct http_resp r;
    struct http_conn c;
    char etag[128], h[512];
    char *data = data_bytes();
    static const char *const stale[] = {
        "If-Range: \"stale-tag\"\r\n",
        "If-Range: Sat, 12 Sep 2020 12:26:40 GMT\r\n",
        "If-Range: Thu, 01 Jan 1970 00:00:00 GMT\r\n",
    };

    start(ws, CONF);
    open_conn(ws, &c);
    get_etag(&c, "/data.bin", etag, sizeof(etag));

    snprintf(h, sizeof(h), "Range: bytes=10-19\r\nIf-Range: %s\r\n", etag);
    req(&c, "GET", "/data.bin", h, &r);
    assert_int_equal(r.status, 206);
    assert_header(&r, "Content-Range", "bytes 10-19/1000");
    assert_int_equal(r.body_len, 10);
    assert_memory_equal(r.body, data + 10, 10);
    http_resp_free(&r);

    for (size_t i = 0; i < sizeof(stale) / sizeof(stale[0]); i++) {
        snprintf(h, sizeof(h), "Range: bytes=10-19\r\n%s", stale[i]);
        req(&c, "GET", "/data.bin", h, &r);
        if (r.status != 200) {
            fail_msg("'%.40s': status %d, want 200", stale[i], r.status);
        }
        assert_null(http_header(&r, "Content-Range"));
        assert_int_equal(r.body_len, DATA_SIZE);
        assert_memory_equal(r.body, data, DATA_SIZE);
        http_resp_free(&r);
    }
    /* If-Range needs a strong match: a weak tag gives the whole file */
    snprintf(h, sizeof(h), "Range: bytes=10-19\r\nIf-Range: W/%s\r\n", etag);
    req(&c, "GET", "/data.bin", h, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, DATA_SIZE);
    http_resp_free(&r);
    http_conn_close(&c);
    free(data);
    ws->passed = true;
}

/* A Range header that is not a valid range set is ignored: the whole
 * file (several valid ranges are multipart: test_static_semantics.c). */
static void
test_http_range_malformed_whole_file(void **state)
{
    static const char *const sets[] = {
        "bytes=alpha", "bytes=10", "bytes=0-1,x", "bytes=5-1,0-1",
        "items=0-1,5-6", "bytes= 0-1",
    };
    struct ws_server *ws = *state;
    struct http_resp r;
    struct http_conn c;
    char *data = data_bytes();
    char h[128];

    start(ws, CONF);
    open_conn(ws, &c);
    for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
        snprintf(h, sizeof(h), "Range: %s\r\n", sets[i]);
        req(&c, "GET", "/data.bin", h, &r);
        if (r.status != 200) {
            fail_msg("Range '%s': status %d, want 200", sets[i], r.status);
        }
        assert_null(http_header(&r, "Content-Range"));
        assert_header(&r, "Content-Length", "1000");
        assert_int_equal(r.body_len, DATA_SIZE);
        assert_memory_equal(r.body, data, DATA_SIZE);
        http_resp_free(&r);
    }
    assert_quiet_open(&c);
    http_conn_close(&c);
    free(data);
    ws->passed = true;
}

/* ---- Connections ---- */

static void
test_http_keepalive_default_http11(void **state)
{
    struct ws_server *ws = *state;
    struct http_resp r;
    struct http_conn c;

    start(ws, CONF);
    open_conn(ws, &c);
    for (int i = 0; i < 5; i++) {
        req(&c, "GET", "/a.txt", NULL, &r);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, A_TEXT);
        assert_false(has_close(&r));
        assert_true(r.keepalive);
        http_resp_free(&r);
        assert_quiet_open(&c);
    }
    assert_int_equal(c.responses, 5);
    http_conn_close(&c);
    ws->passed = true;
}

static void
test_http_http10_closes_unless_keepalive(void **state)
{
    static const char plain[] = "GET /a.txt HTTP/1.0\r\n\r\n";
    static const char ka[] =
        "GET /a.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
    struct ws_server *ws = *state;
    struct http_resp r;
    struct http_conn c;
    const char *conn;

    start(ws, CONF);

    /* plain 1.0: one response, then the server closes */
    open_conn(ws, &c);
    raw_req(&c, plain, sizeof(plain) - 1, false, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, A_TEXT);
    http_resp_free(&r);
    assert_closed(&c, "HTTP/1.0 without keep-alive");
    http_conn_close(&c);

    /* 1.0 with Connection: keep-alive: the connection stays */
    open_conn(ws, &c);
    for (int i = 0; i < 3; i++) {
        raw_req(&c, ka, sizeof(ka) - 1, false, &r);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, A_TEXT);
        conn = http_header(&r, "Connection");
        if (conn == NULL || strcasestr(conn, "keep-alive") == NULL) {
            fail_msg("HTTP/1.0 keep-alive answered with Connection '%s'",
                     conn ? conn : "(none)");
        }
        assert_int_equal(http_header(&r, "Content-Length") != NULL, 1);
        http_resp_free(&r);
        assert_quiet_open(&c);
    }
    /* and a final plain 1.0 request on it closes */
    raw_req(&c, plain, sizeof(plain) - 1, false, &r);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    assert_closed(&c, "HTTP/1.0 after keep-alive");
    http_conn_close(&c);
    ws->passed = true;
}

static void
test_http_connection_close_honoured(void **state)
{
    struct ws_server *ws = *state;
    struct http_resp r;
    struct http_conn c;

    start(ws, CONF);
    open_conn(ws, &c);
    req(&c, "GET", "/a.txt", NULL, &r);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    req(&c, "GET", "/b.txt", "Connection: close\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, B_TEXT);
    assert_true(has_close(&r));
    http_resp_free(&r);
    assert_closed(&c, "Connection: close");
    http_conn_close(&c);

    /* also for HEAD and for a 404 */
    open_conn(ws, &c);
    req(&c, "HEAD", "/a.txt", "Connection: close\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_true(has_close(&r));
    http_resp_free(&r);
    assert_closed(&c, "HEAD with Connection: close");
    http_conn_close(&c);
    open_conn(ws, &c);
    req(&c, "GET", "/missing", "Connection: close\r\n", &r);
    assert_int_equal(r.status, 404);
    assert_true(has_close(&r));
    http_resp_free(&r);
    assert_closed(&c, "404 with Connection: close");
    http_conn_close(&c);
    ws->passed = true;
}

static void
test_http_request_split_bytewise(void **state)
{
    static const char two[] =
        "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n"
        "GET /b.txt HTTP/1.1\r\nHost: x\r\n\r\n";
    struct ws_server *ws = *state;
    struct http_resp r;
    struct http_conn c;
    int on = 1;

    start(ws, CONF);
    open_conn(ws, &c);
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    /* one byte per send, a short pause now and then: any split parses */
    for (size_t i = 0; i < sizeof(two) - 1; i++) {
        assert_int_equal(http_send(&c, two + i, 1), HTTP_OK);
        if (i % 8 == 0) {
            ws_sleep_ms(1);
        }
    }
    assert_int_equal(http_read_response(&c, false, &r), HTTP_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, A_TEXT);
    http_resp_free(&r);
    assert_int_equal(http_read_response(&c, false, &r), HTTP_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, B_TEXT);
    http_resp_free(&r);
    assert_quiet_open(&c);
    http_conn_close(&c);
    ws->passed = true;
}

static void
test_http_pipelining_three_in_order(void **state)
{
    static const char three[] =
        "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n"
        "GET /b.txt HTTP/1.1\r\nHost: x\r\n\r\n"
        "GET /c.txt HTTP/1.1\r\nHost: x\r\n\r\n";
    static const char mixed[] =
        "GET /c.txt HTTP/1.1\r\nHost: x\r\n\r\n"
        "HEAD /b.txt HTTP/1.1\r\nHost: x\r\n\r\n"
        "GET /missing HTTP/1.1\r\nHost: x\r\n\r\n"
        "GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    struct ws_server *ws = *state;
    struct http_resp r;
    struct http_conn c;

    start(ws, CONF);
    open_conn(ws, &c);
    assert_int_equal(http_send(&c, three, sizeof(three) - 1), HTTP_OK);
    assert_int_equal(http_read_response(&c, false, &r), HTTP_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, A_TEXT);
    http_resp_free(&r);
    assert_int_equal(http_read_response(&c, false, &r), HTTP_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, B_TEXT);
    http_resp_free(&r);
    assert_int_equal(http_read_response(&c, false, &r), HTTP_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, C_TEXT);
    http_resp_free(&r);
    assert_quiet_open(&c);

    assert_int_equal(http_send(&c, mixed, sizeof(mixed) - 1), HTTP_OK);
    assert_int_equal(http_read_response(&c, false, &r), HTTP_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, C_TEXT);
    http_resp_free(&r);
    assert_int_equal(http_read_response(&c, true, &r), HTTP_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(atoi(http_header(&r, "Content-Length")),
                     (int) strlen(B_TEXT));
    http_resp_free(&r);
    assert_int_equal(http_read_response(&c, false, &r), HTTP_OK);
    assert_int_equal(r.status, 404);
    http_resp_free(&r);
    assert_int_equal(http_read_response(&c, false, &r), HTTP_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, A_TEXT);
    http_resp_free(&r);
    assert_closed(&c, "pipeline ending in Connection: close");
    http_conn_close(&c);
    ws->passed = true;
}

static void
test_http_pipelining_beyond_per_wakeup_cap(void **state)
{
    /* more requests in one write than a worker serves per wake-up (16):
     * the rest must still be answered, in order, without new input */
    enum { N = 50 };
    static const char *const files[3] = { "/a.txt", "/b.txt", "/c.txt" };
    static const char *const texts[3] = { A_TEXT, B_TEXT, C_TEXT };
    struct ws_server *ws = *state;
    struct http_resp r;
    struct http_conn c;
    char *all = malloc(N * 64);
    size_t len = 0;

    assert_non_null(all);
    for (int i = 0; i < N; i++) {
        /* snprintf: with sprintf, GCC 12 warns (format-overflow) in a
         * Release sanitizer build, not knowing assert_non_null() stops */
        int n = snprintf(all + len, N * 64 - len,
                         "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", files[i % 3]);
        assert_true(n > 0 && (size_t) n < N * 64 - len);
        len += (size_t) n;
    }
    start(ws, CONF);
    open_conn(ws, &c);
    assert_int_equal(http_send(&c, all, len), HTTP_OK);
    for (int i = 0; i < N; i++) {
        if (http_read_response(&c, false, &r) != HTTP_OK) {
            fail_msg("response %d of %d: %s", i + 1, N, http_strerror());
        }
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, texts[i % 3]);
        http_resp_free(&r);
    }
    assert_quiet_open(&c);
    http_conn_close(&c);
    free(all);
    ws->passed = true;
}

/* ---- Errors ---- */

struct bad_case {
    int         line;
    const char *data;
    size_t      len;
    int         status;
};

#define BAD(data, status) { __LINE__, data, sizeof(data) - 1, status }

/* Send the case on a fresh connection: STATUS, "Connection: close", and
 * the server closes. Returns false (after printing why) on a mismatch. */
static bool
check_bad(struct ws_server *ws, const struct bad_case *b)
{
    struct http_resp r;
    struct http_conn c;
    bool ok = true;
    size_t extra = 0;
    int rc;

    open_conn(ws, &c);
    rc = http_send(&c, b->data, b->len);
    if (rc == HTTP_OK) {
        rc = http_read_response(&c, false, &r);
    }
    if (rc != HTTP_OK) {
        fprintf(stderr, "line %d: no response: %s\n", b->line,
                http_strerror());
        http_conn_close(&c);
        return false;
    }
    if (r.status != b->status) {
        fprintf(stderr, "line %d: status %d, want %d\n", b->line, r.status,
                b->status);
        ok = false;
    }
    if (!has_close(&r)) {
        fprintf(stderr, "line %d: %d without Connection: close\n", b->line,
                r.status);
        ok = false;
    }
    if (wait_closed(&c, CLOSE_MS, &extra) < 0) {
        fprintf(stderr, "line %d: connection still open after %d\n",
                b->line, r.status);
        ok = false;
    } else if (extra != 0) {
        fprintf(stderr, "line %d: %zu bytes after the %d response\n",
                b->line, extra, r.status);
        ok = false;
    }
    http_resp_free(&r);
    http_conn_close(&c);
    return ok;
}

static void
run_bad_cases(struct ws_server *ws, const struct bad_case *cases, size_t n)
{
    int failed = 0;

    for (size_t i = 0; i < n; i++) {
        failed += !check_bad(ws, &cases[i]);
    }
    if (failed) {
        fail_msg("%d of %zu bad requests answered wrongly", failed, n);
    }
    assert_no_crash(ws);
}

static void
test_http_bad_requests_close(void **state)
{
    static const struct bad_case cases[] = {
        /* no Host in 1.1 */
        BAD("GET /a.txt HTTP/1.1\r\n\r\n", 400),
        BAD("GET /a.txt HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400),
        BAD("GET /a.txt HTTP/1.1\r\nHost: x\r\nHost: x\r\n\r\n", 400),
        /* bad Content-Length */
        BAD("POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
            400),
        BAD("POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
            400),
        BAD("POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n",
            400),
        BAD("POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
            "Content-Length: 4\r\n\r\nabcd", 400),
        BAD("POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 4\r\n\r\n"
            "abcd", 400),
        /* Content-Length with Transfer-Encoding */
        BAD("POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
            "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        BAD("POST /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            "Content-Length: 5\r\n\r\n0\r\n\r\n", 400),
        /* obs-fold */
        BAD("GET /a.txt HTTP/1.1\r\nHost: x\r\nX-A: b\r\n c\r\n\r\n", 400),
        BAD("GET /a.txt HTTP/1.1\r\nHost: x\r\nX-A: b\r\n\tc\r\n\r\n", 400),
        /* bare CR */
        BAD("GET /a.txt HTTP/1.1\r\nHost: x\r\nX-A: b\rc\r\n\r\n", 400),
        BAD("GET /a.txt HTTP/1.1\rHost: x\r\n\r\n", 400),
        /* NUL */
        BAD("GET /a.txt HTTP/1.1\r\nHost: x\r\nX-A: b\0c\r\n\r\n", 400),
        BAD("GET /a\0.txt HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        /* versions */
        BAD("GET /a.txt HTTP/2.0\r\nHost: x\r\n\r\n", 505),
        BAD("GET /a.txt HTTP/3.0\r\nHost: x\r\n\r\n", 505),
        /* methods we do not implement */
        BAD("PUT /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 501),
        BAD("DELETE /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", 501),
    };
    struct ws_server *ws = *state;

    start(ws, CONF);
    run_bad_cases(ws, cases, sizeof(cases) / sizeof(cases[0]));
    /* the server is unharmed */
    {
        struct http_resp r;
        assert_int_equal(http_get(ws->port, "/a.txt", &r), HTTP_OK);
        assert_int_equal(r.status, 200);
        http_resp_free(&r);
    }
    ws->passed = true;
}

/* "PREFIX" + N copies of FILL + "SUFFIX", malloc'd; *LEN gets the size. */
static char *
build(const char *prefix, const char *fill, size_t n, const char *suffix,
      size_t *len)
{
    size_t pl = strlen(prefix), fl = strlen(fill), sl = strlen(suffix);
    char *s = malloc(pl + n * fl + sl + 1), *p;

    assert_non_null(s);
    memcpy(s, prefix, pl);
    p = s + pl;
    for (size_t i = 0; i < n; i++, p += fl) {
        memcpy(p, fill, fl);
    }
    memcpy(p, suffix, sl + 1);
    *len = pl + n * fl + sl;
    return s;
}

static void
test_http_oversized_head_414_431(void **state)
{
    struct ws_server *ws = *state;
    struct bad_case cases[3];
    char *line, *head, *both;
    size_t ll, hl, bl;

    start(ws, CONF "max_request_header = 1k\n");
    /* a 2000-byte target */
    line = build("GET /", "a", 2000, " HTTP/1.1\r\nHost: x\r\n\r\n", &ll);
    /* short request line, 40 headers of 50 bytes */
    head = build("GET /a.txt HTTP/1.1\r\nHost: x\r\n",
                 "X-Filler: 0123456789012345678901234567890123456\r\n", 40,
                 "\r\n", &hl);
    /* one header line longer than the limit */
    both = build("GET /a.txt HTTP/1.1\r\nHost: x\r\nX-Long: ", "b", 1500,
                 "\r\n\r\n", &bl);
    cases[0] = (struct bad_case) { __LINE__, line, ll, 414 };
    cases[1] = (struct bad_case) { __LINE__, head, hl, 431 };
    cases[2] = (struct bad_case) { __LINE__, both, bl, 431 };
    run_bad_cases(ws, cases, 3);

    /* just under the limit still works */
    {
        struct http_resp r;
        struct http_conn c;
        char *ok;
        size_t okl;

        ok = build("GET /a.txt?", "q", 700, " HTTP/1.1\r\nHost: x\r\n\r\n",
                   &okl);
        open_conn(ws, &c);
        raw_req(&c, ok, okl, false, &r);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, A_TEXT);
        http_resp_free(&r);
        http_conn_close(&c);
        free(ok);
    }
    free(line);
    free(head);
    free(both);
    ws->passed = true;
}

static void
test_http_body_too_large_413(void **state)
{
    struct ws_server *ws = *state;
    struct bad_case cases[3];
    char *cl_body, *chunked;
    size_t cl_len, ch_len;
    static const char no_body[] =
        "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n";

    start(ws, CONF "max_request_body = 1k\n");
    cl_body = build("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n"
                    "\r\n", "0123456789", 500, "", &cl_len);
    /* a chunked body has no length up front: it is measured as it is read,
     * by a route that takes a body (issue 8.3: others never read one) */
    chunked = build("POST /login HTTP/1.1\r\nHost: x\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n",
                    "100\r\n" "0123456789012345678901234567890123456789"
                    "0123456789012345678901234567890123456789"
                    "0123456789012345678901234567890123456789"
                    "0123456789012345678901234567890123456789"
                    "0123456789012345678901234567890123456789"
                    "0123456789012345678901234567890123456789"
                    "0123456789012345\r\n", 8, "0\r\n\r\n", &ch_len);
    cases[0] = (struct bad_case) { __LINE__, cl_body, cl_len, 413 };
    cases[1] = (struct bad_case) { __LINE__, no_body, sizeof(no_body) - 1,
                                   413 };
    cases[2] = (struct bad_case) { __LINE__, chunked, ch_len, 413 };
    for (int round = 0; round < 5; round++) {
        run_bad_cases(ws, cases, 3);
    }
    free(cl_body);
    free(chunked);
    ws->passed = true;
}

static void
test_http_bad_chunked_body_400(void **state)
{
    /* to a route that reads its body (issue 8.3: /x answers 405 on the head) */
#define CH "POST /login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    static const struct bad_case cases[] = {
        BAD(CH "zz\r\nhello\r\n0\r\n\r\n", 400),
        BAD(CH "\r\nhello\r\n0\r\n\r\n", 400),
        BAD(CH "5\r\nhelloXX0\r\n\r\n", 400),
        BAD(CH "5\nhello\r\n0\r\n\r\n", 400),
        BAD(CH "-5\r\nhello\r\n0\r\n\r\n", 400),
        BAD(CH "fffffffffffffffff\r\nhello\r\n0\r\n\r\n", 400),
        BAD(CH "5\r\nhello\r\n0\r\nX-Bad\0: 1\r\n\r\n", 400),
    };
#undef CH
    struct ws_server *ws = *state;

    start(ws, CONF);
    /* repeated: a bug reading uninitialised state may not show at once */
    for (int round = 0; round < 30; round++) {
        run_bad_cases(ws, cases, sizeof(cases) / sizeof(cases[0]));
    }
    {
        struct http_resp r;
        assert_int_equal(http_get(ws->port, "/a.txt", &r), HTTP_OK);
        assert_int_equal(r.status, 200);
        http_resp_free(&r);
    }
    assert_no_crash(ws);
    ws->passed = true;
}

static void
test_http_post_static_405_allow(void **state)
{
    static const char post[] =
        "POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
    struct ws_server *ws = *state;
    struct http_resp r;
    struct http_conn c;

    start(ws, CONF);
    open_conn(ws, &c);
    raw_req(&c, post, sizeof(post) - 1, false, &r);
    assert_int_equal(r.status, 405);
    assert_header(&r, "Allow", "GET, HEAD, OPTIONS");
    http_resp_free(&r);
    /* POST to a directory and to a missing file: the same */
    req(&c, "POST", "/", "Content-Length: 0\r\n", &r);
    assert_int_equal(r.status, 405);
    assert_header(&r, "Allow", "GET, HEAD, OPTIONS");
    http_resp_free(&r);
    req(&c, "POST", "/x", "Content-Length: 0\r\n", &r);
    assert_int_equal(r.status, 405);
    /* 405 leaves the framing intact: the connection goes on */
    assert_true(r.keepalive);
    http_resp_free(&r);
    req(&c, "GET", "/a.txt", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, A_TEXT);
    http_resp_free(&r);
    http_conn_close(&c);
    ws->passed = true;
}

static void
test_http_expect_unknown_417(void **state)
{
    struct ws_server *ws = *state;
    struct http_resp r;
    struct http_conn c;

    start(ws, CONF);
    open_conn(ws, &c);
    req(&c, "GET", "/a.txt", "Expect: something-else\r\n", &r);
    assert_int_equal(r.status, 417);
    http_resp_free(&r);
    http_conn_close(&c);
    open_conn(ws, &c);
    req(&c, "POST", "/x", "Expect: 200-ok\r\nContent-Length: 0\r\n", &r);
    assert_int_equal(r.status, 417);
    http_resp_free(&r);
    http_conn_close(&c);
    ws->passed = true;
}

/* Read from C's socket until a blank line, at most TIMEOUT_MS; the bytes
 * go into OUT (NUL-terminated). Returns the length, or -1. */
static long
read_interim(struct http_conn *c, char *out, size_t cap, int timeout_ms)
{
    int64_t deadline = ws_now_ms() + timeout_ms;
    size_t n = 0;

    assert_int_equal(c->len, 0);
    while (n + 1 < cap) {
        struct pollfd p = { .fd = c->fd, .events = POLLIN };
        int left = (int) (deadline - ws_now_ms());
        ssize_t got;

        if (left <= 0 || poll(&p, 1, left) != 1) {
            break;
        }
        got = recv(c->fd, out + n, 1, 0);      /* byte by byte: stop exactly */
        if (got != 1) {
            break;
        }
        n++;
        out[n] = '\0';
        if (n >= 4 && memcmp(out + n - 4, "\r\n\r\n", 4) == 0) {
            return (long) n;
        }
    }
    out[n] = '\0';
    return -1;
}

/* "Expect: 100-continue" to a route that reads a body gets the interim
 * 100, then its answer after the body; the connection goes on. */
static void
test_http_expect_100_continue(void **state)
{
    static const char head[] =
        "POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 30\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        "Expect: 100-continue\r\n\r\n";
    struct ws_server *ws = *state;
    struct http_resp r;
    struct http_conn c;
    char interim[256];

    start(ws, CONF);
    open_conn(ws, &c);
    assert_int_equal(http_send(&c, head, sizeof(head) - 1), HTTP_OK);
    if (read_interim(&c, interim, sizeof(interim), CLOSE_MS) < 0) {
        fail_msg("no interim response before the body: got '%s'", interim);
    }
    if (strncmp(interim, "HTTP/1.1 100 Continue\r\n", 23) != 0) {
        fail_msg("interim response '%s', want HTTP/1.1 100 Continue",
                 interim);
    }
    assert_int_equal(http_send(&c, "username=abc&password=12345678", 30),
                     HTTP_OK);
    assert_int_equal(http_read_response(&c, false, &r), HTTP_OK);
    /* no such user (401) or, without Redis, 503: either way a final
     * answer that keeps the connection */
    if (r.status != 401 && r.status != 503) {
        fail_msg("POST /login answered %d", r.status);
    }
    assert_true(r.keepalive);
    http_resp_free(&r);
    {
        /* the body was consumed: the next request is answered */
        req(&c, "GET", "/a.txt", NULL, &r);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, A_TEXT);
        http_resp_free(&r);
    }
    http_conn_close(&c);
    ws->passed = true;
}

/* "Expect: 100-continue" to a path that takes no body (issue 8.3): the
 * answer comes at once, without a 100, and closes the connection (the
 * client may or may not send the body now). */
static void
test_http_expect_100_continue_refused_on_head(void **state)
{
    static const char head[] =
        "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n"
        "Expect: 100-continue\r\n\r\n";
    struct ws_server *ws = *state;
    struct http_resp r;
    struct http_conn c;

    start(ws, CONF);
    open_conn(ws, &c);
    assert_int_equal(http_send(&c, head, sizeof(head) - 1), HTTP_OK);
    assert_int_equal(http_read_response(&c, false, &r), HTTP_OK);
    assert_int_equal(r.status, 405);
    assert_false(r.keepalive);
    http_resp_free(&r);
    http_conn_close(&c);
    ws->passed = true;
}

/* Send DATA (a request with a body, then "GET /a.txt") in one write:
 * 405 for the first, a.txt for the second, and nothing else. */
static void
expect_body_consumed(struct ws_server *ws, const char *data, size_t len)
{
    struct http_resp r;
    struct http_conn c;

    open_conn(ws, &c);
    assert_int_equal(http_send(&c, data, len), HTTP_OK);
    if (http_read_response(&c, false, &r) != HTTP_OK) {
        fail_msg("first response: %s", http_strerror());
    }
    assert_int_equal(r.status, 405);
    http_resp_free(&r);
    if (http_read_response(&c, false, &r) != HTTP_OK) {
        fail_msg("request after the body not answered: %s", http_strerror());
    }
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, A_TEXT);
    http_resp_free(&r);
    /* the body was not taken for requests */
    assert_quiet_open(&c);
    http_conn_close(&c);
}

static void
test_http_chunked_body_consumed(void **state)
{
    static const char plain[] =
        "POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
        "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n";
    /* a body that looks like a request must not be run as one */
    static const char smuggle[] =
        "POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        "20\r\nGET /b.txt HTTP/1.1\r\nHost: x\r\n\r\n\r\n0\r\n\r\n"
        "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n";
    struct ws_server *ws = *state;

    start(ws, CONF);
    expect_body_consumed(ws, plain, sizeof(plain) - 1);
    expect_body_consumed(ws, smuggle, sizeof(smuggle) - 1);
    ws->passed = true;
}

static void
test_http_chunked_extensions_and_trailers(void **state)
{
    static const char ext[] =
        "POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5;name=value\r\nhello\r\nA\r\n0123456789\r\n0\r\n"
        "X-Trailer: t\r\n\r\n"
        "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n";
    struct ws_server *ws = *state;

    start(ws, CONF);
    expect_body_consumed(ws, ext, sizeof(ext) - 1);
    ws->passed = true;
}

static void
test_http_content_length_body_consumed(void **state)
{
    static const char inner[] = "GET /b.txt HTTP/1.1\r\nHost: x\r\n\r\n";
    struct ws_server *ws = *state;
    char data[512];
    int n;

    start(ws, CONF);
    n = snprintf(data, sizeof(data),
                 "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n"
                 "%sGET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n",
                 sizeof(inner) - 1, inner);
    expect_body_consumed(ws, data, (size_t) n);
    ws->passed = true;
}

/* ---- Traversal ---- */

static void
test_http_traversal_never_leaks(void **state)
{
    static const char *const targets[] = {
        "/../secret.txt",
        "/../../../../../../etc/passwd",
        "/%2e%2e/secret.txt",
        "/%2E%2E%2Fsecret.txt",
        "/..%2fsecret.txt",
        "/..%2Fsecret.txt",
        "/.%2e/secret.txt",
        "/%2e./secret.txt",
        "/./../secret.txt",
        "//../secret.txt",
        "/sub/../../secret.txt",
        "/sub/..%2f..%2fsecret.txt",
        "/sub/%2e%2e/%2e%2e/secret.txt",
        "/%252e%252e/secret.txt",
        "/..%00/secret.txt",
        "/%00/../secret.txt",
        "/index.html%00/../../secret.txt",
        "/../secret.txt%00.html",
        "/..\\secret.txt",
        "/..%5csecret.txt",
        "/..%5Csecret.txt",
        "/%5c..%5csecret.txt",
        "/sub\\..\\..\\secret.txt",
        "http://x/../secret.txt",
        "http://x/%2e%2e/secret.txt",
        "http://x/sub/../../secret.txt",
        "/link_file",
        "/link_rel",
        "/link_dir/secret2.txt",
        "/link_dir_rel/secret2.txt",
        "/link_dir/",
        "/link_dir",
        "/sub/../link_file",
        "/%6cink_file",
    };
    struct ws_server *ws = *state;
    int failed = 0;

    start(ws, CONF);
    for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
        struct http_resp r;
        struct http_conn c;
        char data[512];
        int n, rc;

        n = snprintf(data, sizeof(data), "GET %s HTTP/1.1\r\nHost: x\r\n"
                     "Connection: close\r\n\r\n", targets[i]);
        open_conn(ws, &c);
        rc = http_send(&c, data, (size_t) n);
        if (rc == HTTP_OK) {
            rc = http_read_response(&c, false, &r);
        }
        if (rc != HTTP_OK) {
            fprintf(stderr, "%s: no response: %s\n", targets[i],
                    http_strerror());
            failed++;
            http_conn_close(&c);
            continue;
        }
        if (memmem(r.body, r.body_len, SECRET, strlen(SECRET)) != NULL
            || memmem(r.body, r.body_len, "root:", 5) != NULL) {
            fprintf(stderr, "%s: LEAKED the secret (status %d)\n",
                    targets[i], r.status);
            failed++;
        } else if (r.status != 400 && r.status != 403 && r.status != 404) {
            fprintf(stderr, "%s: status %d, want 400, 403 or 404\n",
                    targets[i], r.status);
            failed++;
        } else {
            fprintf(stderr, "%s: %d\n", targets[i], r.status);
        }
        http_resp_free(&r);
        http_conn_close(&c);
    }
    if (failed) {
        fail_msg("%d traversal attempts answered wrongly", failed);
    }
    /* a symlink is not needed to reach files inside root */
    {
        struct http_resp r;
        assert_int_equal(http_get(ws->port, "/sub/../a.txt", &r), HTTP_OK);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, A_TEXT);
        http_resp_free(&r);
    }
    ws->passed = true;
}

int
main(int argc, char **argv)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, ws_fixture_teardown)
    const struct CMUnitTest tests[] = {
        T(test_http_get_file_headers),
        T(test_http_head_same_headers_no_body),
        T(test_http_mime_types),
        T(test_http_directory_index),
        T(test_http_directory_redirect_keeps_query),
        T(test_http_dotfiles_404),
        T(test_http_if_none_match),
        T(test_http_if_modified_since),
        T(test_http_range_forms),
        T(test_http_range_unsatisfiable_416),
        T(test_http_if_range),
        T(test_http_range_malformed_whole_file),
        T(test_http_keepalive_default_http11),
        T(test_http_http10_closes_unless_keepalive),
        T(test_http_connection_close_honoured),
        T(test_http_request_split_bytewise),
        T(test_http_pipelining_three_in_order),
        T(test_http_pipelining_beyond_per_wakeup_cap),
        T(test_http_bad_requests_close),
        T(test_http_oversized_head_414_431),
        T(test_http_body_too_large_413),
        T(test_http_bad_chunked_body_400),
        T(test_http_post_static_405_allow),
        T(test_http_expect_unknown_417),
        T(test_http_expect_100_continue),
        T(test_http_expect_100_continue_refused_on_head),
        T(test_http_chunked_body_consumed),
        T(test_http_chunked_extensions_and_trailers),
        T(test_http_content_length_body_consumed),
        T(test_http_traversal_never_leaks),
    };
#undef T

    if (argc > 1) {
        cmocka_set_test_filter(argv[1]);    /* e.g. "*range*" */
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
