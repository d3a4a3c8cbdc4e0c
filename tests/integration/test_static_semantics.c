/* test_static_semantics.c - RFC 9110 semantics of static files against the
 * real binary over real sockets: preconditions (If-Match,
 * If-Unmodified-Since and their order), multipart/byteranges answers
 * checked part by part with Python's email parser, precompressed variants
 * (gzip_static) fetched with curl --compressed, Cache-Control and a file
 * asked for as a directory. Variants are made with tools/precompress.sh,
 * and the ones shipped in html/ are checked against their files.
 * Needs python3, curl, gzip and brotli (tools/deps.sh installs them).
 * SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness.h"

#define CONF          "processes = 1\nkeepalive_timeout = 60s\n" \
                      "header_timeout = 60s\n"
#define DATA_SIZE     65536     /* sent with sendfile (not cached) */
#define DATA_SEED     11
#define SMALL_SIZE    10000     /* answered from the file cache */
#define SMALL_SEED    12
#define MTIME         1600000000
#define MTIME_S       "Sun, 13 Sep 2020 12:26:40 GMT"

/* ---- Helpers ---- */

static void
path_in(char *out, size_t cap, const char *dir, const char *rel)
{
    int n = snprintf(out, cap, "%s/%s", dir, rel);

    assert_true(n > 0 && (size_t) n < cap);
}

static void
put_text(const struct ws_server *ws, const char *rel, const char *text,
         time_t mtime)
{
    struct timespec ts[2] = { { mtime, 0 }, { mtime, 0 } };
    char path[WS_PATH_MAX + 64];

    path_in(path, sizeof(path), ws->root, rel);
    assert_int_equal(ws_write_text(path, text), 0);
    assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static void
put_random(const struct ws_server *ws, const char *rel, size_t len,
           uint64_t seed)
{
    struct timespec ts[2] = { { MTIME, 0 }, { MTIME, 0 } };
    char path[WS_PATH_MAX + 64];

    path_in(path, sizeof(path), ws->root, rel);
    assert_int_equal(ws_write_random_file(path, len, seed), 0);
    assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

/* Run ARGV (argv[0] looked up in PATH), its stdout to OUT (NULL: ours),
 * and wait for it. Returns its exit code, or -1 when it could not run. */
static int
run_cmd(const char *const *argv, const char *out)
{
    pid_t pid;
    int st;

    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (out != NULL) {
            int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
            if (fd < 0 || dup2(fd, 1) < 0)
                _exit(126);
        }
        execvp(argv[0], (char *const *) argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR)
            return -1;
    }
    return ws_exit_code(st);
}

static void
open_conn(const struct ws_server *ws, struct http_conn *c)
{
    if (http_conn_open(c, ws->port) == -1)
        fail_msg("connect: %s", http_strerror());
}

static void
req(struct http_conn *c, const char *method, const char *path,
    const char *extra, struct http_resp *r)
{
    int rc = http_request(c, method, path, extra, r);

    if (rc != HTTP_OK)
        fail_msg("%s %s: %s (rc %d)", method, path, http_strerror(), rc);
}

/* Header NAME of R is WANT (NULL: absent). Returns 0, or 1 after saying
 * what differs (for line-numbered tables). */
static int
check_header(int line, const struct http_resp *r, const char *name,
             const char *want)
{
    const char *v = http_header(r, name);

    if (want == NULL && v != NULL) {
        fprintf(stderr, "line %d: %s: '%s', expected none\n", line, name, v);
        return 1;
    }
    if (want != NULL && (v == NULL || strcmp(v, want) != 0)) {
        fprintf(stderr, "line %d: %s: '%s', expected '%s'\n", line, name,
                v != NULL ? v : "(none)", want);
        return 1;
    }
    return 0;
}

/* The raw answer to one request (sent with Connection: close) read to
 * EOF, saved in FILE. */
static void
raw_exchange(const struct ws_server *ws, const char *method, const char *path,
             const char *extra, const char *file)
{
    struct http_conn c;
    char request[2048], buf[65536];
    size_t total = 0;
    FILE *f;
    int n;

    n = snprintf(request, sizeof(request), "%s %s HTTP/1.1\r\nHost: t\r\n"
                 "Connection: close\r\n%s\r\n", method, path,
                 extra != NULL ? extra : "");
    assert_true(n > 0 && (size_t) n < sizeof(request));
    open_conn(ws, &c);
    assert_int_equal(http_send(&c, request, (size_t) n), HTTP_OK);
    f = fopen(file, "we");
    assert_non_null(f);
    for (;;) {
        ssize_t got = recv(c.fd, buf, sizeof(buf), 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            fail_msg("%s %s: recv: %s after %zu bytes", method, path,
                     strerror(errno), total);
        if (got == 0)
            break;
        assert_int_equal(fwrite(buf, 1, (size_t) got, f), (size_t) got);
        total += (size_t) got;
    }
    assert_int_equal(fclose(f), 0);
    http_conn_close(&c);
}

/* ---- Point 1: preconditions ---- */

struct cond_case {
    int         line;
    const char *method;
    const char *path;
    const char *headers;    /* "%s" is replaced by the file's ETag */
    int         status;
};

static const struct cond_case cond_cases[] = {
    { __LINE__, "GET", "/data.bin", "If-Match: \"nope\"\r\n", 412 },
    { __LINE__, "GET", "/data.bin", "If-Unmodified-Since: Thu, 01 Jan 1970 "
      "00:00:01 GMT\r\n", 412 },
    { __LINE__, "GET", "/small.bin", "If-Match: \"nope\"\r\n", 412 },
    { __LINE__, "HEAD", "/data.bin", "If-Match: \"nope\"\r\n", 412 },
    { __LINE__, "GET", "/data.bin", "If-Match: W/%s\r\n", 412 },
    { __LINE__, "GET", "/data.bin", "If-Match: %s\r\n", 200 },
    { __LINE__, "GET", "/data.bin", "If-Match: \"nope\", %s\r\n", 200 },
    { __LINE__, "GET", "/data.bin", "If-Match: *\r\n", 200 },
    { __LINE__, "GET", "/data.bin", "If-Unmodified-Since: " MTIME_S "\r\n",
      200 },
    { __LINE__, "GET", "/data.bin", "If-Unmodified-Since: Sun, 13 Sep 2020 "
      "12:26:39 GMT\r\n", 412 },
    { __LINE__, "GET", "/data.bin", "If-Unmodified-Since: soon\r\n", 200 },
    /* RFC 9110 13.2.2: If-Match first, IUS only without it, ... */
    { __LINE__, "GET", "/data.bin", "If-Match: %s\r\nIf-Unmodified-Since: "
      "Thu, 01 Jan 1970 00:00:01 GMT\r\n", 200 },
    { __LINE__, "GET", "/data.bin", "If-Match: \"nope\"\r\n"
      "If-None-Match: %s\r\n", 412 },
    { __LINE__, "GET", "/data.bin", "If-Unmodified-Since: Thu, 01 Jan 1970 "
      "00:00:01 GMT\r\nIf-None-Match: %s\r\n", 412 },
    /* ... then If-None-Match, IMS only without it ... */
    { __LINE__, "GET", "/data.bin", "If-Match: %s\r\nIf-None-Match: %s\r\n",
      304 },
    { __LINE__, "GET", "/data.bin", "If-Match: *\r\nIf-Modified-Since: "
      MTIME_S "\r\n", 304 },
    { __LINE__, "GET", "/data.bin", "If-None-Match: \"x\"\r\n"
      "If-Modified-Since: " MTIME_S "\r\n", 200 },
    /* ... then If-Range */
    { __LINE__, "GET", "/data.bin", "If-Match: %s\r\nRange: bytes=0-9\r\n"
      "If-Range: %s\r\n", 206 },
    { __LINE__, "GET", "/data.bin", "If-Match: %s\r\nRange: bytes=0-9\r\n"
      "If-Range: \"old\"\r\n", 200 },
    { __LINE__, "GET", "/data.bin", "If-Match: \"nope\"\r\nRange: bytes=0-9\r\n",
      412 },
};

static void
test_static_semantics_preconditions(void **state)
{
    struct ws_server *ws = *state;
    char etag_data[128], etag_small[128], h[1024];
    struct http_resp r;
    struct http_conn c;
    int failed = 0;

    put_random(ws, "data.bin", DATA_SIZE, DATA_SEED);
    put_random(ws, "small.bin", SMALL_SIZE, SMALL_SEED);
    assert_int_equal(ws_start_conf(ws, CONF), 0);
    open_conn(ws, &c);
    req(&c, "GET", "/data.bin", NULL, &r);
    snprintf(etag_data, sizeof(etag_data), "%s", http_header(&r, "ETag"));
    http_resp_free(&r);
    req(&c, "GET", "/small.bin", NULL, &r);
    snprintf(etag_small, sizeof(etag_small), "%s", http_header(&r, "ETag"));
    http_resp_free(&r);

    for (int round = 0; round < 2; round++) {       /* 2nd: cache hits */
        for (size_t i = 0; i < sizeof(cond_cases) / sizeof(cond_cases[0]); i++) {
            const struct cond_case *t = &cond_cases[i];
            const char *etag = strcmp(t->path, "/data.bin") == 0 ? etag_data
                                                                 : etag_small;
            bool head = strcmp(t->method, "HEAD") == 0;
            size_t size = strcmp(t->path, "/data.bin") == 0 ? DATA_SIZE
                                                            : SMALL_SIZE;

            snprintf(h, sizeof(h), t->headers, etag, etag);
            req(&c, t->method, t->path, h, &r);
            if (r.status != t->status) {
                fprintf(stderr, "line %d: %s %s with '%s': %d, expected %d\n",
                        t->line, t->method, t->path, h, r.status, t->status);
                failed++;
            } else if (t->status == 412) {
                /* no body, nothing that describes the file */
                failed += check_header(t->line, &r, "Content-Length", "0");
                failed += check_header(t->line, &r, "ETag", NULL);
                failed += r.body_len != 0;
            } else if (t->status == 200 && !head) {
                failed += r.body_len != size;
            }
            if (!r.keepalive) {
                fprintf(stderr, "line %d: the connection closes\n", t->line);
                failed++;
            }
            http_resp_free(&r);
        }
    }
    /* the connection is still in sync: nothing extra came after a 412 */
    req(&c, "GET", "/small.bin", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, SMALL_SIZE);
    http_resp_free(&r);
    http_conn_close(&c);
    if (failed != 0)
        fail_msg("%d precondition checks failed", failed);
    ws->passed = true;
}

/* ---- Point 2: multipart/byteranges, checked with Python's email ---- */

static const char check_multipart_py[] =
"import sys, email, email.policy\n"
"resp, data_path, mime = sys.argv[1:4]\n"
"want = [tuple(int(x) for x in a.split('-')) for a in sys.argv[4:]]\n"
"raw = open(resp, 'rb').read()\n"
"data = open(data_path, 'rb').read()\n"
"def fail(msg):\n"
"    print('check_multipart: ' + msg)\n"
"    sys.exit(1)\n"
"head, body = raw.split(b'\\r\\n\\r\\n', 1)\n"
"lines = head.split(b'\\r\\n')\n"
"if lines[0].split()[1] != b'206':\n"
"    fail('status line %r' % lines[0])\n"
"fields = {}\n"
"for l in lines[1:]:\n"
"    k, v = l.split(b':', 1)\n"
"    fields[k.strip().lower()] = v.strip()\n"
"if b'content-range' in fields:\n"
"    fail('a Content-Range in the head of a multipart answer')\n"
"if int(fields[b'content-length']) != len(body):\n"
"    fail('Content-Length %s, but %d bytes' % (fields[b'content-length'], len(body)))\n"
"ct = fields[b'content-type']\n"
"if not ct.startswith(b'multipart/byteranges; boundary='):\n"
"    fail('Content-Type %r' % ct)\n"
"msg = email.message_from_bytes(b'Content-Type: ' + ct + b'\\r\\n\\r\\n' + body,\n"
"                                policy=email.policy.HTTP)\n"
"if not msg.is_multipart() or msg.defects:\n"
"    fail('not a clean multipart: %r' % msg.defects)\n"
"if msg.preamble or msg.epilogue:\n"
"    fail('preamble %r, epilogue %r' % (msg.preamble, msg.epilogue))\n"
"parts = list(msg.iter_parts())\n"
"if len(parts) != len(want):\n"
"    fail('%d parts, expected %d' % (len(parts), len(want)))\n"
"for p, (a, b) in zip(parts, want):\n"
"    if p.defects:\n"
"        fail('part %d-%d: %r' % (a, b, p.defects))\n"
"    raw_fields = dict(p.raw_items())\n"
"    if raw_fields.get('Content-Type') != mime:\n"
"        fail('part %d-%d: Content-Type %r' % (a, b, raw_fields.get('Content-Type')))\n"
"    if raw_fields.get('Content-Range') != 'bytes %d-%d/%d' % (a, b, len(data)):\n"
"        fail('part %d-%d: Content-Range %r' % (a, b, raw_fields.get('Content-Range')))\n"
"    got = p.get_payload(decode=True)\n"
"    if got != data[a:b + 1]:\n"
"        fail('part %d-%d: %d bytes that differ from the file' % (a, b, len(got)))\n"
"print('check_multipart: %d parts of %s ok' % (len(parts), data_path))\n";

struct mp_case {
    int         line;
    const char *path;       /* /data.bin, /large.bin (sendfile) or
                             * /small.txt (cache) */
    const char *range;
    const char *parts[17];  /* expected "first-last", after coalescing */
};

static const struct mp_case mp_cases[] = {
    { __LINE__, "/data.bin", "bytes=0-9,-10,10-19", { "0-19", "65526-65535" } },
    { __LINE__, "/data.bin", "bytes=0-0,2-2,4-4", { "0-0", "2-2", "4-4" } },
    { __LINE__, "/data.bin", "bytes=100-199,150-299,1000-1099",
      { "100-299", "1000-1099" } },                          /* overlapping */
    { __LINE__, "/data.bin", "bytes=0-999,1000-1999,3000-3999",
      { "0-1999", "3000-3999" } },                            /* adjacent */
    { __LINE__, "/data.bin", "bytes=-100,0-99", { "0-99", "65436-65535" } },
    { __LINE__, "/data.bin", "bytes=5000-, 0-10,\t4000-5000",
      { "0-10", "4000-65535" } },
    { __LINE__, "/data.bin", "bytes=30000-30999,70000-,10-20",
      { "10-20", "30000-30999" } },                  /* unsatisfiable dropped */
    { __LINE__, "/data.bin", "bytes=1-1,3-3,5-5,7-7,9-9,11-11,13-13,15-15,"
      "17-17,19-19,21-21,23-23,25-25,27-27,29-29,31-31",
      { "1-1", "3-3", "5-5", "7-7", "9-9", "11-11", "13-13", "15-15",
        "17-17", "19-19", "21-21", "23-23", "25-25", "27-27", "29-29",
        "31-31" } },
    /* parts larger than a wake-up's write budget (1 MiB) */
    { __LINE__, "/large.bin", "bytes=-1100000,0-1199999,1500000-1500009",
      { "0-1199999", "1500000-1500009", "2045728-3145727" } },
    { __LINE__, "/small.txt", "bytes=0-99,-100", { "0-99", "9900-9999" } },
    { __LINE__, "/small.txt", "bytes=500-599,0-9,550-700",
      { "0-9", "500-700" } },
};

static void
test_static_semantics_multipart_python(void **state)
{
    struct ws_server *ws = *state;
    char script[WS_PATH_MAX + 32], resp[WS_PATH_MAX + 32];
    char data[WS_PATH_MAX + 32], extra[512];
    char *text = malloc(SMALL_SIZE + 1);
    int failed = 0;

    assert_non_null(text);
    for (size_t i = 0; i < SMALL_SIZE; i++)
        text[i] = (char) (i % 64 == 63 ? '\n' : 'a' + (char) (i % 23));
    text[SMALL_SIZE] = '\0';
    put_random(ws, "data.bin", DATA_SIZE, DATA_SEED);
    put_random(ws, "large.bin", 3 * 1024 * 1024, DATA_SEED + 1);
    put_text(ws, "small.txt", text, MTIME);
    free(text);
    path_in(script, sizeof(script), ws->dir, "check_multipart.py");
    path_in(resp, sizeof(resp), ws->dir, "resp.bin");
    assert_int_equal(ws_write_text(script, check_multipart_py), 0);
    assert_int_equal(ws_start_conf(ws, CONF), 0);

    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < sizeof(mp_cases) / sizeof(mp_cases[0]); i++) {
            const struct mp_case *t = &mp_cases[i];
            const char *argv[4 + 17 + 2] = { "python3", script, resp };
            int argc = 3, rc;

            path_in(data, sizeof(data), ws->root, t->path + 1);
            argv[argc++] = data;
            argv[argc++] = strstr(t->path, ".bin") != NULL
                           ? "application/octet-stream"
                           : "text/plain; charset=utf-8";
            for (size_t k = 0; k < 17 && t->parts[k] != NULL; k++)
                argv[argc++] = t->parts[k];
            argv[argc] = NULL;
            snprintf(extra, sizeof(extra), "Range: %s\r\n", t->range);
            raw_exchange(ws, "GET", t->path, extra, resp);
            rc = run_cmd(argv, NULL);
            if (rc != 0) {
                fprintf(stderr, "line %d: Range '%s': the check says %d\n",
                        t->line, t->range, rc);
                failed++;
            }
        }
    }
    if (failed != 0)
        fail_msg("%d multipart answers failed the check", failed);
    ws->passed = true;
}

/* What is not multipart: one range after coalescing, more than 16, an
 * answer larger than the file, malformed sets; and HEAD mirrors GET. */
static void
test_static_semantics_multipart_limits(void **state)
{
    static const struct {
        int         line;
        const char *path;
        const char *range;
        int         status;
        const char *content_range;  /* NULL: none */
        long        length;
    } cases[] = {
        { __LINE__, "/data.bin", "bytes=0-9,10-19", 206, "bytes 0-19/65536",
          20 },
        { __LINE__, "/data.bin", "bytes=50-59,0-99", 206, "bytes 0-99/65536",
          100 },
        { __LINE__, "/data.bin", "bytes=0-0,2-2,4-4,6-6,8-8,10-10,12-12,"
          "14-14,16-16,18-18,20-20,22-22,24-24,26-26,28-28,30-30,32-32",
          200, NULL, DATA_SIZE },                       /* 17 ranges */
        { __LINE__, "/tiny.txt", "bytes=0-0,5-5", 200, NULL, 10 },
        { __LINE__, "/data.bin", "bytes=alpha", 200, NULL, DATA_SIZE },
        { __LINE__, "/data.bin", "bytes=10", 200, NULL, DATA_SIZE },
        { __LINE__, "/data.bin", "bytes=0-1,alpha", 200, NULL, DATA_SIZE },
        { __LINE__, "/data.bin", "bytes=70000-,80000-90000", 416,
          "bytes */65536", -1 },
    };
    struct ws_server *ws = *state;
    char extra[512], ctype[128];
    struct http_resp r, g;
    struct http_conn c;
    int failed = 0;

    put_random(ws, "data.bin", DATA_SIZE, DATA_SEED);
    put_text(ws, "tiny.txt", "0123456789", MTIME);
    assert_int_equal(ws_start_conf(ws, CONF), 0);
    open_conn(ws, &c);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(extra, sizeof(extra), "Range: %s\r\n", cases[i].range);
        req(&c, "GET", cases[i].path, extra, &r);
        if (r.status != cases[i].status) {
            fprintf(stderr, "line %d: %d, expected %d\n", cases[i].line,
                    r.status, cases[i].status);
            failed++;
        }
        failed += check_header(cases[i].line, &r, "Content-Range",
                               cases[i].content_range);
        if (cases[i].length >= 0 && r.body_len != (size_t) cases[i].length) {
            fprintf(stderr, "line %d: %zu body bytes, expected %ld\n",
                    cases[i].line, r.body_len, cases[i].length);
            failed++;
        }
        http_resp_free(&r);
    }

    /* HEAD: the head a GET gets (but its own boundary), and no body */
    req(&c, "GET", "/data.bin", "Range: bytes=0-9,-10\r\n", &g);
    req(&c, "HEAD", "/data.bin", "Range: bytes=0-9,-10\r\n", &r);
    assert_int_equal(g.status, 206);
    assert_int_equal(r.status, 206);
    snprintf(ctype, sizeof(ctype), "%s", http_header(&r, "Content-Type"));
    assert_true(strncmp(ctype, "multipart/byteranges; boundary=", 31) == 0);
    assert_string_equal(http_header(&r, "Content-Length"),
                        http_header(&g, "Content-Length"));
    assert_int_equal(r.body_len, 0);
    assert_true(strcmp(ctype, http_header(&g, "Content-Type")) != 0);
    http_resp_free(&g);
    http_resp_free(&r);
    /* in sync: nothing followed the HEAD answer */
    req(&c, "GET", "/tiny.txt", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "0123456789");
    http_resp_free(&r);
    http_conn_close(&c);
    if (failed != 0)
        fail_msg("%d checks failed", failed);
    ws->passed = true;
}

/* ---- Point 7: precompressed variants ---- */

#define PAGE_TEXT_LINE "<p>The quick brown fox jumps over the lazy dog.</p>\n"

/* A tree with text files precompressed by tools/precompress.sh: page.html
 * (br and gz), app.js (gz only), big.css (> the cache's file limit),
 * old.txt (a variant older than its file), photo.jpg (not a text type). */
static void
make_variant_tree(struct ws_server *ws)
{
    char tool[WS_PATH_MAX + 64], path[WS_PATH_MAX + 64];
    const char *argv[] = { "bash", tool, ws->root, NULL };
    struct timespec old[2] = { { MTIME - 10, 0 }, { MTIME - 10, 0 } };
    size_t n = 0, cap = 64 * 1024;
    char *text = malloc(cap);

    assert_non_null(text);
    while (n + sizeof(PAGE_TEXT_LINE) < 4000)
        n += (size_t) snprintf(text + n, cap - n, "%s", PAGE_TEXT_LINE);
    put_text(ws, "page.html", text, MTIME);
    put_text(ws, "app.js", "console.log('hello, hello, hello, hello');\n"
             "console.log('hello, hello, hello, hello');\n", MTIME);
    put_text(ws, "old.txt", text, MTIME);
    n = 0;
    while (n + 64 < cap - 1)
        n += (size_t) snprintf(text + n, cap - n, "p.c%zu { color: red; }\n", n);
    put_text(ws, "big.css", text, MTIME);
    put_text(ws, "plain.txt", "no variant here, no variant here, no variant "
             "here, no variant here, no variant here\n", MTIME);
    free(text);
    put_random(ws, "photo.jpg", 3000, 5);

    snprintf(tool, sizeof(tool), "%s/tools/precompress.sh", ws_src());
    assert_int_equal(run_cmd(argv, NULL), 0);
    path_in(path, sizeof(path), ws->root, "app.js.br");
    assert_int_equal(unlink(path), 0);
    path_in(path, sizeof(path), ws->root, "old.txt.gz");
    assert_int_equal(utimensat(AT_FDCWD, path, old, 0), 0);
    path_in(path, sizeof(path), ws->root, "old.txt.br");
    assert_int_equal(unlink(path), 0);
    path_in(path, sizeof(path), ws->root, "photo.jpg.gz");
    assert_int_equal(access(path, F_OK), -1);       /* not a text type */
    path_in(path, sizeof(path), ws->root, "plain.txt.gz");
    assert_int_equal(unlink(path), 0);
    path_in(path, sizeof(path), ws->root, "plain.txt.br");
    assert_int_equal(unlink(path), 0);
}

struct var_case {
    int         line;
    const char *path;
    const char *ae;         /* Accept-Encoding, NULL: none */
    const char *coding;     /* Content-Encoding expected, NULL: none */
    bool        vary;
    const char *type;       /* Content-Type */
};

#define HTML "text/html; charset=utf-8"
#define JS   "text/javascript; charset=utf-8"
#define CSS  "text/css; charset=utf-8"
#define TXT  "text/plain; charset=utf-8"

static const struct var_case var_cases[] = {
    { __LINE__, "/page.html", NULL, NULL, true, HTML },
    { __LINE__, "/page.html", "gzip", "gzip", true, HTML },
    { __LINE__, "/page.html", "br", "br", true, HTML },
    { __LINE__, "/page.html", "gzip, deflate, br", "br", true, HTML },
    { __LINE__, "/page.html", "gzip;q=1, br;q=0.5", "gzip", true, HTML },
    { __LINE__, "/page.html", "br;q=0.5, gzip;q=0.5", "br", true, HTML },
    { __LINE__, "/page.html", "gzip;q=0, br;q=0", NULL, true, HTML },
    { __LINE__, "/page.html", "identity;q=0, gzip;q=0.2", "gzip", true, HTML },
    { __LINE__, "/page.html", "gzip;q=0.5, identity;q=0.9", NULL, true, HTML },
    { __LINE__, "/page.html", "*", "br", true, HTML },
    { __LINE__, "/page.html", "br;q=0, *", "gzip", true, HTML },
    { __LINE__, "/page.html", "*;q=0", NULL, true, HTML },
    { __LINE__, "/page.html", "x-gzip", "gzip", true, HTML },
    { __LINE__, "/page.html", "deflate", NULL, true, HTML },
    { __LINE__, "/page.html", "", NULL, true, HTML },
    { __LINE__, "/", "gzip", NULL, false, NULL },   /* 403: no index */
    { __LINE__, "/app.js", "br", NULL, true, JS },
    { __LINE__, "/app.js", "gzip, br", "gzip", true, JS },
    { __LINE__, "/big.css", "br", "br", true, CSS },
    { __LINE__, "/big.css", "gzip", "gzip", true, CSS },
    { __LINE__, "/big.css", NULL, NULL, true, CSS },
    { __LINE__, "/old.txt", "gzip", NULL, false, TXT },
    { __LINE__, "/plain.txt", "gzip, br", NULL, false, TXT },
    { __LINE__, "/photo.jpg", "gzip, br", NULL, false, "image/jpeg" },
    { __LINE__, "/page.html.gz", "gzip", NULL, false, "application/gzip" },
};

/* The bytes of ROOT/PATH plus the suffix of CODING (NULL: the file). */
static char *
expected_body(const struct ws_server *ws, const char *path, const char *coding,
              size_t *len)
{
    char file[WS_PATH_MAX + 64];

    snprintf(file, sizeof(file), "%s%s%s", ws->root, path,
             coding == NULL ? "" : strcmp(coding, "br") == 0 ? ".br" : ".gz");
    return ws_read_file(file, len);
}

static void
test_static_semantics_variants(void **state)
{
    struct ws_server *ws = *state;
    char extra[256], tags[3][128];
    struct http_resp r;
    struct http_conn c;
    int failed = 0;

    make_variant_tree(ws);
    assert_int_equal(ws_start_conf(ws, CONF), 0);
    open_conn(ws, &c);
    /* twice over one connection (one worker): the 2nd round is answered
     * from the file cache, which must keep the variants apart */
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < sizeof(var_cases) / sizeof(var_cases[0]); i++) {
            const struct var_case *t = &var_cases[i];
            size_t len;
            char *want;

            if (t->ae != NULL)
                snprintf(extra, sizeof(extra), "Accept-Encoding: %s\r\n",
                         t->ae);
            req(&c, "GET", t->path, t->ae != NULL ? extra : NULL, &r);
            if (t->type == NULL) {
                failed += r.status != 403;
                failed += check_header(t->line, &r, "Vary", NULL);
                http_resp_free(&r);
                continue;
            }
            failed += check_header(t->line, &r, "Content-Encoding", t->coding);
            failed += check_header(t->line, &r, "Vary",
                                   t->vary ? "Accept-Encoding" : NULL);
            failed += check_header(t->line, &r, "Content-Type", t->type);
            want = expected_body(ws, t->path, t->coding, &len);
            assert_non_null(want);
            if (r.status != 200 || r.body_len != len
                || memcmp(r.body, want, len) != 0) {
                fprintf(stderr, "line %d: %s (%s): status %d, %zu bytes, "
                        "expected %zu bytes of the %s\n", t->line, t->path,
                        t->ae != NULL ? t->ae : "no Accept-Encoding", r.status,
                        r.body_len, len, t->coding != NULL ? t->coding
                                                           : "file");
                failed++;
            }
            free(want);
            http_resp_free(&r);
        }
    }

    /* each representation has its own ETag */
    req(&c, "GET", "/page.html", NULL, &r);
    snprintf(tags[0], sizeof(tags[0]), "%s", http_header(&r, "ETag"));
    http_resp_free(&r);
    req(&c, "GET", "/page.html", "Accept-Encoding: gzip\r\n", &r);
    snprintf(tags[1], sizeof(tags[1]), "%s", http_header(&r, "ETag"));
    http_resp_free(&r);
    req(&c, "GET", "/page.html", "Accept-Encoding: br\r\n", &r);
    snprintf(tags[2], sizeof(tags[2]), "%s", http_header(&r, "ETag"));
    http_resp_free(&r);
    assert_string_not_equal(tags[0], tags[1]);
    assert_string_not_equal(tags[0], tags[2]);
    assert_string_not_equal(tags[1], tags[2]);
    http_conn_close(&c);
    if (failed != 0)
        fail_msg("%d checks failed", failed);
    ws->passed = true;
}

/* Conditionals and ranges apply to the representation served. */
static void
test_static_semantics_variant_conditionals_and_ranges(void **state)
{
    struct ws_server *ws = *state;
    char h[512], gz_tag[128], id_tag[128];
    struct http_resp r;
    struct http_conn c;
    size_t gz_len;
    char *gz;

    make_variant_tree(ws);
    gz = expected_body(ws, "/big.css", "gzip", &gz_len);
    assert_non_null(gz);
    assert_true(gz_len > 40);
    assert_int_equal(ws_start_conf(ws, CONF), 0);
    open_conn(ws, &c);
    req(&c, "GET", "/big.css", NULL, &r);
    snprintf(id_tag, sizeof(id_tag), "%s", http_header(&r, "ETag"));
    http_resp_free(&r);
    req(&c, "GET", "/big.css", "Accept-Encoding: gzip\r\n", &r);
    snprintf(gz_tag, sizeof(gz_tag), "%s", http_header(&r, "ETag"));
    http_resp_free(&r);

    /* If-None-Match with the variant's tag: 304 for gzip clients only */
    snprintf(h, sizeof(h), "Accept-Encoding: gzip\r\nIf-None-Match: %s\r\n",
             gz_tag);
    req(&c, "GET", "/big.css", h, &r);
    assert_int_equal(r.status, 304);
    assert_string_equal(http_header(&r, "Vary"), "Accept-Encoding");
    assert_string_equal(http_header(&r, "ETag"), gz_tag);
    http_resp_free(&r);
    snprintf(h, sizeof(h), "If-None-Match: %s\r\n", gz_tag);
    req(&c, "GET", "/big.css", h, &r);
    assert_int_equal(r.status, 200);
    assert_null(http_header(&r, "Content-Encoding"));
    http_resp_free(&r);
    /* If-Match with the file's tag fails for the variant */
    snprintf(h, sizeof(h), "Accept-Encoding: gzip\r\nIf-Match: %s\r\n",
             id_tag);
    req(&c, "GET", "/big.css", h, &r);
    assert_int_equal(r.status, 412);
    assert_string_equal(http_header(&r, "Vary"), "Accept-Encoding");
    http_resp_free(&r);
    snprintf(h, sizeof(h), "Accept-Encoding: gzip\r\nIf-Match: %s\r\n",
             gz_tag);
    req(&c, "GET", "/big.css", h, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(http_header(&r, "Content-Encoding"), "gzip");
    http_resp_free(&r);

    /* a range of the compressed bytes */
    req(&c, "GET", "/big.css", "Accept-Encoding: gzip\r\n"
        "Range: bytes=10-29\r\n", &r);
    assert_int_equal(r.status, 206);
    assert_string_equal(http_header(&r, "Content-Encoding"), "gzip");
    snprintf(h, sizeof(h), "bytes 10-29/%zu", gz_len);
    assert_string_equal(http_header(&r, "Content-Range"), h);
    assert_int_equal(r.body_len, 20);
    assert_memory_equal(r.body, gz + 10, 20);
    http_resp_free(&r);
    /* If-Range with the variant's tag keeps the range */
    snprintf(h, sizeof(h), "Accept-Encoding: gzip\r\nRange: bytes=0-9\r\n"
             "If-Range: %s\r\n", gz_tag);
    req(&c, "GET", "/big.css", h, &r);
    assert_int_equal(r.status, 206);
    http_resp_free(&r);
    snprintf(h, sizeof(h), "Accept-Encoding: gzip\r\nRange: bytes=0-9\r\n"
             "If-Range: %s\r\n", id_tag);
    req(&c, "GET", "/big.css", h, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, gz_len);
    http_resp_free(&r);
    http_conn_close(&c);
    free(gz);
    ws->passed = true;
}

/* A changed file is answered fresh at once: its old variants are older
 * now and no longer served; a variant made later for an unchanged file is
 * picked up (within STATIC_VARIANT_RECHECK_MS, 1 s, for a cached file, so
 * this polls, bounded by WS_WAIT_MS). */
static void
test_static_semantics_variant_freshness(void **state)
{
    struct ws_server *ws = *state;
    char tool[WS_PATH_MAX + 64];
    const char *argv[] = { "bash", tool, ws->root, NULL };
    struct http_resp r;
    struct http_conn c;
    int64_t deadline;
    bool seen = false;

    make_variant_tree(ws);
    snprintf(tool, sizeof(tool), "%s/tools/precompress.sh", ws_src());
    assert_int_equal(ws_start_conf(ws, CONF), 0);
    open_conn(ws, &c);
    req(&c, "GET", "/page.html", "Accept-Encoding: gzip\r\n", &r);
    assert_string_equal(http_header(&r, "Content-Encoding"), "gzip");
    http_resp_free(&r);

    put_text(ws, "page.html", "<p>new</p>\n", MTIME + 100);
    req(&c, "GET", "/page.html", "Accept-Encoding: gzip\r\n", &r);
    assert_null(http_header(&r, "Content-Encoding"));
    assert_string_equal(r.body, "<p>new</p>\n");
    http_resp_free(&r);

    /* plain.txt is cached without variants; then it gets some while it
     * stays the same */
    req(&c, "GET", "/plain.txt", "Accept-Encoding: gzip\r\n", &r);
    assert_null(http_header(&r, "Vary"));
    http_resp_free(&r);
    assert_int_equal(run_cmd(argv, NULL), 0);
    deadline = ws_now_ms() + WS_WAIT_MS;
    while (!seen && ws_now_ms() < deadline) {
        req(&c, "GET", "/plain.txt", "Accept-Encoding: gzip\r\n", &r);
        seen = http_header(&r, "Content-Encoding") != NULL;
        http_resp_free(&r);
        if (!seen)
            ws_sleep_ms(50);
    }
    assert_true(seen);
    http_conn_close(&c);
    ws->passed = true;
}

/* curl --compressed gets the file byte for byte, decoded from the .br and
 * from the .gz; curl without it (no Accept-Encoding) gets the file. */
static void
test_static_semantics_curl_compressed(void **state)
{
    static const struct {
        int         line;
        const char *path;
        bool        compressed;
        const char *header;     /* "Accept-Encoding: ..." or NULL */
        const char *coding;     /* expected Content-Encoding, NULL: none */
    } cases[] = {
        { __LINE__, "/page.html", true, NULL, "br" },
        { __LINE__, "/page.html", true, "Accept-Encoding: gzip", "gzip" },
        { __LINE__, "/app.js", true, NULL, "gzip" },        /* only a .gz */
        { __LINE__, "/big.css", true, NULL, "br" },
        { __LINE__, "/big.css", true, "Accept-Encoding: gzip", "gzip" },
        { __LINE__, "/page.html", false, NULL, NULL },
        { __LINE__, "/big.css", false, NULL, NULL },
    };
    struct ws_server *ws = *state;
    char url[256], out[WS_PATH_MAX + 32], hdrs[WS_PATH_MAX + 32];
    char want_ce[64], file[WS_PATH_MAX + 64];
    int failed = 0;

    make_variant_tree(ws);
    assert_int_equal(ws_start_conf(ws, CONF), 0);
    path_in(out, sizeof(out), ws->dir, "curl.out");
    path_in(hdrs, sizeof(hdrs), ws->dir, "curl.head");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *argv[16];
        int argc = 0, rc;
        size_t got_len, want_len;
        char *got, *want, *head;

        snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", ws->port,
                 cases[i].path);
        argv[argc++] = "curl";
        argv[argc++] = "-sS";
        argv[argc++] = "--fail";
        if (cases[i].compressed)
            argv[argc++] = "--compressed";
        if (cases[i].header != NULL) {
            argv[argc++] = "-H";
            argv[argc++] = cases[i].header;
        }
        argv[argc++] = "-D";
        argv[argc++] = hdrs;
        argv[argc++] = "-o";
        argv[argc++] = out;
        argv[argc++] = url;
        argv[argc] = NULL;
        rc = run_cmd(argv, NULL);
        if (rc != 0)
            fail_msg("line %d: curl exited with %d", cases[i].line, rc);
        path_in(file, sizeof(file), ws->root, cases[i].path + 1);
        got = ws_read_file(out, &got_len);
        want = ws_read_file(file, &want_len);
        head = ws_read_file(hdrs, NULL);
        assert_non_null(got);
        assert_non_null(want);
        assert_non_null(head);
        if (got_len != want_len || memcmp(got, want, want_len) != 0) {
            fprintf(stderr, "line %d: curl got %zu bytes, not the %zu of the "
                    "file\n", cases[i].line, got_len, want_len);
            failed++;
        }
        /* and it really came compressed (or really not) */
        snprintf(want_ce, sizeof(want_ce), "Content-Encoding: %s\r\n",
                 cases[i].coding != NULL ? cases[i].coding : "");
        if (cases[i].coding != NULL ? strstr(head, want_ce) == NULL
                                    : strcasestr(head, "Content-Encoding")
                                      != NULL) {
            fprintf(stderr, "line %d: expected %s in:\n%s\n", cases[i].line,
                    cases[i].coding != NULL ? want_ce : "no Content-Encoding",
                    head);
            failed++;
        }
        if (strstr(head, "Vary: Accept-Encoding\r\n") == NULL) {
            fprintf(stderr, "line %d: no Vary\n", cases[i].line);
            failed++;
        }
        free(got);
        free(want);
        free(head);
    }
    if (failed != 0)
        fail_msg("%d checks failed", failed);
    ws->passed = true;
}

/* gzip_static = off: the files only, no Vary. */
static void
test_static_semantics_gzip_static_off(void **state)
{
    struct ws_server *ws = *state;
    struct http_resp r;
    struct http_conn c;

    make_variant_tree(ws);
    assert_int_equal(ws_start_conf(ws, CONF "gzip_static = off\n"), 0);
    open_conn(ws, &c);
    req(&c, "GET", "/page.html", "Accept-Encoding: gzip, br\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_null(http_header(&r, "Content-Encoding"));
    assert_null(http_header(&r, "Vary"));
    http_resp_free(&r);
    http_conn_close(&c);
    ws->passed = true;
}

/* What html/ ships: every text file with variants that decompress to it,
 * served to a browser-like client. */
static void
test_static_semantics_shipped_variants(void **state)
{
    static const char *const files[] = {
        "index.html", "login.html", "register.html", "style.css",
    };
    struct ws_server *ws = *state;
    char src[WS_PATH_MAX + 64], var[WS_PATH_MAX + 64], out[WS_PATH_MAX + 64];
    char conf[WS_PATH_MAX + 128];
    struct http_resp r;
    struct http_conn c;

    path_in(out, sizeof(out), ws->dir, "decoded");
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        static const char *const tools[2][3] = {
            { "gzip", "-dc", NULL }, { "brotli", "-dc", NULL },
        };
        static const char *const sfx[2] = { ".gz", ".br" };
        size_t a_len, b_len;
        char *a, *b;

        snprintf(src, sizeof(src), "%s/html/%s", ws_src(), files[i]);
        a = ws_read_file(src, &a_len);
        assert_non_null(a);
        for (int k = 0; k < 2; k++) {
            const char *argv[] = { tools[k][0], tools[k][1], var, NULL };
            snprintf(var, sizeof(var), "%s%s", src, sfx[k]);
            if (run_cmd(argv, out) != 0)
                fail_msg("%s: missing or broken (run tools/precompress.sh "
                         "html)", var);
            b = ws_read_file(out, &b_len);
            assert_non_null(b);
            if (a_len != b_len || memcmp(a, b, a_len) != 0)
                fail_msg("%s is not %s any more: run tools/precompress.sh "
                         "html", var, src);
            free(b);
        }
        free(a);
    }

    snprintf(conf, sizeof(conf), CONF "root = %s/html\n", ws_src());
    assert_int_equal(ws_start_conf(ws, conf), 0);
    open_conn(ws, &c);
    req(&c, "GET", "/", "Accept-Encoding: gzip, deflate, br\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(http_header(&r, "Content-Encoding"), "br");
    assert_string_equal(http_header(&r, "Content-Type"), HTML);
    http_resp_free(&r);
    http_conn_close(&c);
    ws->passed = true;
}

/* Error pages come from one template, and a file root/errors/NNN.html
 * replaces the page for its status. */
static void
test_static_semantics_error_page_override(void **state)
{
    struct ws_server *ws = *state;
    char path[WS_PATH_MAX + 64];
    struct http_resp r;
    struct http_conn c;

    path_in(path, sizeof(path), ws->root, "errors");
    assert_int_equal(ws_mkdirs(path), 0);
    path_in(path, sizeof(path), ws->root, "errors/404.html");
    assert_int_equal(ws_write_text(path, "<p>our own 404</p>\n"), 0);
    assert_int_equal(ws_start_conf(ws, CONF), 0);
    open_conn(ws, &c);
    req(&c, "GET", "/missing", NULL, &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.body, "<p>our own 404</p>\n");
    http_resp_free(&r);
    /* other statuses keep the template */
    req(&c, "POST", "/missing", "Content-Length: 0\r\n", &r);
    assert_int_equal(r.status, 405);
    assert_non_null(strstr(r.body, "<h1>405 Method Not Allowed</h1>"));
    assert_non_null(strstr(r.body, "href=\"/style.css\""));
    http_resp_free(&r);
    http_conn_close(&c);
    ws->passed = true;
}

/* ---- Points 5 and 8 end to end ---- */

static void
test_static_semantics_cache_control_and_file_slash(void **state)
{
    static const struct {
        int         line;
        const char *path;
        const char *extra;
        int         status;
        bool        cc;         /* Cache-Control expected */
    } cases[] = {
        { __LINE__, "/page.html", NULL, 200, true },
        { __LINE__, "/page.html", "Accept-Encoding: br\r\n", 200, true },
        { __LINE__, "/page.html", "Range: bytes=0-9\r\n", 206, true },
        { __LINE__, "/page.html", "Range: bytes=0-9,20-29\r\n", 206, true },
        { __LINE__, "/page.html", "If-Modified-Since: " MTIME_S "\r\n", 304,
          true },
        { __LINE__, "/page.html", "If-Match: \"x\"\r\n", 412, false },
        { __LINE__, "/page.html", "Range: bytes=99999-\r\n", 416, false },
        { __LINE__, "/page.html/", NULL, 404, false },
        { __LINE__, "/page.html/.", NULL, 404, false },
        { __LINE__, "/missing.html", NULL, 404, false },
        { __LINE__, "/dir", NULL, 301, false },
        { __LINE__, "/dir/", NULL, 200, true },
    };
    struct ws_server *ws = *state;
    struct http_resp r;
    struct http_conn c;
    int failed = 0;

    make_variant_tree(ws);
    put_text(ws, "dir/index.html", "<p>dir</p>\n", MTIME);
    assert_int_equal(ws_start_conf(ws, CONF "static_cache_control = "
                                   "public, max-age=3600\n"), 0);
    open_conn(ws, &c);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        req(&c, "GET", cases[i].path, cases[i].extra, &r);
        if (r.status != cases[i].status) {
            fprintf(stderr, "line %d: %d, expected %d\n", cases[i].line,
                    r.status, cases[i].status);
            failed++;
        }
        failed += check_header(cases[i].line, &r, "Cache-Control",
                               cases[i].cc ? "public, max-age=3600" : NULL);
        http_resp_free(&r);
    }
    req(&c, "POST", "/page.html", NULL, &r);
    assert_int_equal(r.status, 405);
    failed += check_header(__LINE__, &r, "Cache-Control", NULL);
    http_resp_free(&r);
    http_conn_close(&c);
    if (failed != 0)
        fail_msg("%d checks failed", failed);
    ws->passed = true;
}

int
main(int argc, char **argv)
{
#define T(f) cmocka_unit_test_setup_teardown(f, ws_fixture_setup, \
                                             ws_fixture_teardown)
    const struct CMUnitTest tests[] = {
        T(test_static_semantics_preconditions),
        T(test_static_semantics_multipart_python),
        T(test_static_semantics_multipart_limits),
        T(test_static_semantics_variants),
        T(test_static_semantics_variant_conditionals_and_ranges),
        T(test_static_semantics_variant_freshness),
        T(test_static_semantics_curl_compressed),
        T(test_static_semantics_gzip_static_off),
        T(test_static_semantics_shipped_variants),
        T(test_static_semantics_error_page_override),
        T(test_static_semantics_cache_control_and_file_slash),
    };
#undef T

    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
