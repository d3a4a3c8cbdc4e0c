/* test_http_response.c - http_response.h: status text, dates, heads, errors.
 * SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "defs.h"
#include "http_parse.h"
#include "http_response.h"
#include "mpool.h"

/* Fixture: a pool and an empty buffer on it. */
struct fx {
    mpool      *pool;
    struct buf  b;
    char       *text;       /* last output as a string, without Date */
};

static int
setup_fx(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    if (f == NULL || (f->pool = mpool_create(0)) == NULL)
        return -1;
    buf_init(&f->b);
    *state = f;
    return 0;
}

static int
teardown_fx(void **state)
{
    struct fx *f = *state;
    struct mpool_stats st;

    buf_release(f->pool, &f->b);
    mpool_get_stats(f->pool, &st);
    assert_int_equal(st.bytes_in_use, 0);
    mpool_destroy(f->pool);
    free(f->text);
    free(f);
    return 0;
}

/* ---- Helpers ---- */

/* The buffer's bytes as a string, with the Date header line checked (an
 * IMF-fixdate that parses) and cut out, so the rest compares exactly. */
static const char *
output(struct fx *f)
{
    static const char key[] = "\r\nDate: ";
    size_t len = buf_len(&f->b);
    char *s = malloc(len + 1), *d;
    time_t t;

    assert_non_null(s);
    memcpy(s, f->b.data + f->b.rpos, len);
    s[len] = '\0';
    assert_int_equal(strlen(s), len);       /* no NUL bytes inside */
    d = strstr(s, key);
    if (d == NULL)
        fail_msg("no Date header in:\n%s", s);
    d += 2;     /* at "Date: " */
    if (strlen(d) < 6 + HTTP_DATE_LEN + 2
        || memcmp(d + 6 + HTTP_DATE_LEN, "\r\n", 2) != 0)
        fail_msg("malformed Date header in:\n%s", s);
    assert_int_equal(http_parse_date(d + 6, HTTP_DATE_LEN, &t), RC_OK);
    if (strstr(d + 1, "\r\nDate: ") != NULL)
        fail_msg("two Date headers in:\n%s", s);
    memmove(d, d + 6 + HTTP_DATE_LEN + 2, strlen(d + 6 + HTTP_DATE_LEN + 2) + 1);
    free(f->text);
    f->text = s;
    return s;
}

/* The buffer's bytes as they are (Date included). */
static const char *
raw(struct fx *f)
{
    size_t len = buf_len(&f->b);
    char *s = malloc(len + 1);

    assert_non_null(s);
    memcpy(s, f->b.data + f->b.rpos, len);
    s[len] = '\0';
    free(f->text);
    f->text = s;
    return s;
}

static void
reset(struct fx *f)
{
    buf_release(f->pool, &f->b);
}

static struct http_head
head_200(void)
{
    struct http_head h;

    memset(&h, 0, sizeof(h));
    h.status = 200;
    h.keepalive = true;
    h.content_length = -1;
    return h;
}

/* Count the occurrences of NEEDLE in S. */
static int
count_of(const char *s, const char *needle)
{
    int n = 0;

    for (const char *p = s; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/* ---- Status text, dates ---- */

static void
test_http_response_status_text(void **state)
{
    static const struct { int code; const char *text; } cases[] = {
        { 200, "OK" },
        { 204, "No Content" },
        { 206, "Partial Content" },
        { 301, "Moved Permanently" },
        { 303, "See Other" },
        { 304, "Not Modified" },
        { 400, "Bad Request" },
        { 403, "Forbidden" },
        { 404, "Not Found" },
        { 405, "Method Not Allowed" },
        { 408, "Request Timeout" },
        { 413, "Content Too Large" },
        { 414, "URI Too Long" },
        { 416, "Range Not Satisfiable" },
        { 431, "Request Header Fields Too Large" },
        { 500, "Internal Server Error" },
        { 501, "Not Implemented" },
        { 503, "Service Unavailable" },
        { 505, "HTTP Version Not Supported" },
        { 0,   "Unknown" },
        { 299, "Unknown" },
        { -1,  "Unknown" },
        { 999, "Unknown" },
    };

    UNUSED(state);
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        const char *got = http_status_text(cases[i].code);
        if (strcmp(got, cases[i].text) != 0)
            fail_msg("%d: \"%s\", expected \"%s\"", cases[i].code, got,
                     cases[i].text);
    }
}

static void
test_http_response_date_format(void **state)
{
    static const struct { time_t t; const char *s; } cases[] = {
        { 784111777,  "Sun, 06 Nov 1994 08:49:37 GMT" },    /* RFC 9110 */
        { 0,          "Thu, 01 Jan 1970 00:00:00 GMT" },
        { 951782400,  "Tue, 29 Feb 2000 00:00:00 GMT" },
        { 1700000000, "Tue, 14 Nov 2023 22:13:20 GMT" },
        { 2147483647, "Tue, 19 Jan 2038 03:14:07 GMT" },
        { 4102444799, "Thu, 31 Dec 2099 23:59:59 GMT" },
    };
    char out[HTTP_DATE_LEN + 8];

    UNUSED(state);
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        time_t back;

        memset(out, 'X', sizeof(out));
        http_date_format(cases[i].t, out);
        assert_string_equal(out, cases[i].s);
        assert_int_equal(out[HTTP_DATE_LEN], '\0');
        assert_int_equal(out[HTTP_DATE_LEN + 1], 'X');    /* no overrun */
        /* the parser reads it back */
        assert_int_equal(http_parse_date(out, HTTP_DATE_LEN, &back), RC_OK);
        assert_int_equal(back, cases[i].t);
    }
}

/* Formatted by hand: the same as gmtime_r() + strftime() over 1900 to
 * 9999 (every third day, at a spread of times of day), including the cached
 * results, which must never answer for another time. */
static void
test_http_response_date_format_matches_libc(void **state)
{
    char out[HTTP_DATE_LEN + 1], want[64];
    const int64_t from = -2208988800LL, to = 253402300799LL;    /* 1900..9999 */
    struct tm tm;

    UNUSED(state);
    for (int64_t t = from; t <= to; t += 3 * 86400 + 3607) {
        for (int twice = 0; twice < 2; twice++) {
            time_t tt = (time_t) t;
            gmtime_r(&tt, &tm);
            strftime(want, sizeof(want), "%a, %d %b %Y %H:%M:%S GMT", &tm);
            http_date_format(tt, out);
            if (strcmp(out, want) != 0)
                fail_msg("t=%lld: \"%s\", want \"%s\"", (long long) t, out, want);
        }
    }
}

static void
test_http_response_date_now(void **state)
{
    const char *d;
    time_t before, after, t;

    UNUSED(state);
    before = time(NULL);
    d = http_date_now();
    after = time(NULL);
    assert_int_equal(strlen(d), HTTP_DATE_LEN);
    assert_int_equal(http_parse_date(d, HTTP_DATE_LEN, &t), RC_OK);
    assert_true(t >= before && t <= after);
}

/* ---- Heads ---- */

static void
test_http_response_head_full_200(void **state)
{
    struct fx *f = *state;
    struct http_head h = head_200();

    h.content_type = "text/html; charset=utf-8";
    h.content_length = 1234;
    h.etag = "\"5f-4d2\"";
    h.last_modified = 784111777;
    h.accept_ranges = true;
    assert_int_equal(http_response_head(f->pool, &f->b, &h), RC_OK);
    assert_string_equal(output(f),
        "HTTP/1.1 200 OK\r\n"
        "Server: " WEBSERVER_NAME "\r\n"
        "Content-Type: text/html; charset=utf-8\r\n"
        "Content-Length: 1234\r\n"
        "Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
        "ETag: \"5f-4d2\"\r\n"
        "Accept-Ranges: bytes\r\n"
        "\r\n");
}

static void
test_http_response_head_minimal(void **state)
{
    struct fx *f = *state;
    struct http_head h = head_200();

    h.status = 204;
    assert_int_equal(http_response_head(f->pool, &f->b, &h), RC_OK);
    assert_string_equal(output(f),
        "HTTP/1.1 204 No Content\r\n"
        "Server: " WEBSERVER_NAME "\r\n"
        "\r\n");

    /* Content-Length: 0 is written; -1 is "none" */
    reset(f);
    h.status = 200;
    h.content_length = 0;
    assert_int_equal(http_response_head(f->pool, &f->b, &h), RC_OK);
    assert_string_equal(output(f),
        "HTTP/1.1 200 OK\r\n"
        "Server: " WEBSERVER_NAME "\r\n"
        "Content-Length: 0\r\n"
        "\r\n");
}

static void
test_http_response_head_large_length(void **state)
{
    struct fx *f = *state;
    struct http_head h = head_200();

    h.content_length = INT64_MAX;
    assert_int_equal(http_response_head(f->pool, &f->b, &h), RC_OK);
    assert_non_null(strstr(output(f),
                           "\r\nContent-Length: 9223372036854775807\r\n"));
}

static void
test_http_response_head_connection(void **state)
{
    static const struct {
        int line;
        bool keepalive, http10;
        const char *want;       /* NULL: no Connection header */
    } cases[] = {
        { __LINE__, true,  false, NULL },
        { __LINE__, false, false, "Connection: close\r\n" },
        { __LINE__, true,  true,  "Connection: keep-alive\r\n" },
        { __LINE__, false, true,  "Connection: close\r\n" },
    };
    struct fx *f = *state;

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct http_head h = head_200();
        const char *s;

        reset(f);
        h.keepalive = cases[i].keepalive;
        h.http10 = cases[i].http10;
        assert_int_equal(http_response_head(f->pool, &f->b, &h), RC_OK);
        s = output(f);
        if (cases[i].want == NULL) {
            if (strstr(s, "Connection:") != NULL)
                fail_msg("line %d: unexpected Connection header:\n%s",
                         cases[i].line, s);
            continue;
        }
        if (count_of(s, "Connection:") != 1 || strstr(s, cases[i].want) == NULL)
            fail_msg("line %d: want \"%s\" once in:\n%s", cases[i].line,
                     cases[i].want, s);
        /* the header sits right before the empty line */
        assert_int_equal(strlen(s) - strlen(strstr(s, cases[i].want))
                         + strlen(cases[i].want) + 2, strlen(s));
    }
}

static void
test_http_response_head_206(void **state)
{
    struct fx *f = *state;
    struct http_head h = head_200();

    h.status = 206;
    h.content_length = 100;
    h.range_first = 0;
    h.range_last = 99;
    h.range_total = 1000;
    assert_int_equal(http_response_head(f->pool, &f->b, &h), RC_OK);
    assert_string_equal(output(f),
        "HTTP/1.1 206 Partial Content\r\n"
        "Server: " WEBSERVER_NAME "\r\n"
        "Content-Length: 100\r\n"
        "Content-Range: bytes 0-99/1000\r\n"
        "\r\n");

    reset(f);
    h.range_first = 5000000000LL;
    h.range_last = 5000000009LL;
    h.range_total = 6000000000LL;
    h.content_length = 10;
    assert_int_equal(http_response_head(f->pool, &f->b, &h), RC_OK);
    assert_non_null(strstr(output(f),
        "\r\nContent-Range: bytes 5000000000-5000000009/6000000000\r\n"));

    /* other statuses carry no Content-Range even with range fields set */
    reset(f);
    h.status = 200;
    assert_int_equal(http_response_head(f->pool, &f->b, &h), RC_OK);
    assert_null(strstr(output(f), "Content-Range"));
}

/* 416 carries its "bytes *\/SIZE" in EXTRA (http_response.h): exactly one
 * Content-Range, and range_total alone adds none. */
static void
test_http_response_head_416(void **state)
{
    struct fx *f = *state;
    struct http_head h = head_200();

    h.status = 416;
    h.range_total = 4321;
    h.content_length = 0;
    h.extra = "Content-Range: bytes */4321\r\n";
    assert_int_equal(http_response_head(f->pool, &f->b, &h), RC_OK);
    assert_string_equal(output(f),
        "HTTP/1.1 416 Range Not Satisfiable\r\n"
        "Server: " WEBSERVER_NAME "\r\n"
        "Content-Length: 0\r\n"
        "Content-Range: bytes */4321\r\n"
        "\r\n");
}

static void
test_http_response_head_location_and_extra(void **state)
{
    struct fx *f = *state;
    struct http_head h = head_200();

    h.status = 301;
    h.content_length = 0;
    h.location = "/dir/?q=1";
    h.extra = "Cache-Control: no-store\r\nX-A: b\r\n";
    h.keepalive = false;
    assert_int_equal(http_response_head(f->pool, &f->b, &h), RC_OK);
    assert_string_equal(output(f),
        "HTTP/1.1 301 Moved Permanently\r\n"
        "Server: " WEBSERVER_NAME "\r\n"
        "Content-Length: 0\r\n"
        "Location: /dir/?q=1\r\n"
        "Cache-Control: no-store\r\nX-A: b\r\n"
        "Connection: close\r\n"
        "\r\n");
}

/* Long strings grow the buffer; the head stays intact. */
static void
test_http_response_head_long_fields(void **state)
{
    struct fx *f = *state;
    struct http_head h = head_200();
    size_t n = 20000;
    char *loc = malloc(n + 2), *extra = malloc(n + 16);
    const char *s;

    assert_non_null(loc);
    assert_non_null(extra);
    loc[0] = '/';
    memset(loc + 1, 'a', n);
    loc[n + 1] = '\0';
    strcpy(extra, "X-Long: ");
    memset(extra + 8, 'b', n);
    strcpy(extra + 8 + n, "\r\n");
    h.status = 302;
    h.location = loc;
    h.extra = extra;
    h.content_type = "text/plain; charset=utf-8";
    h.etag = "\"1-2\"";
    assert_int_equal(http_response_head(f->pool, &f->b, &h), RC_OK);
    assert_true(f->b.wpos <= f->b.cap);
    s = output(f);
    assert_non_null(strstr(s, loc));
    assert_non_null(strstr(s, extra));
    assert_int_equal(strcmp(s + strlen(s) - 4, "\r\n\r\n"), 0);
    free(loc);
    free(extra);
}

/* Heads append: two in a row read back in order. */
static void
test_http_response_head_appends(void **state)
{
    struct fx *f = *state;
    struct http_head h = head_200();
    const char *s;

    assert_int_equal(buf_append(f->pool, &f->b, "prefix", 6), RC_OK);
    h.content_length = 1;
    assert_int_equal(http_response_head(f->pool, &f->b, &h), RC_OK);
    h.status = 404;
    assert_int_equal(http_response_head(f->pool, &f->b, &h), RC_OK);
    s = raw(f);
    assert_int_equal(strncmp(s, "prefixHTTP/1.1 200 OK\r\n", 23), 0);
    assert_non_null(strstr(s, "\r\n\r\nHTTP/1.1 404 Not Found\r\n"));
    assert_int_equal(count_of(s, "\r\nDate: "), 2);
    assert_int_equal(strcmp(s + strlen(s) - 4, "\r\n\r\n"), 0);
}

/* ---- Error responses ---- */

/* Split S (a whole response) at the empty line; check Content-Length
 * against the bytes after it. Returns the body. */
static const char *
check_length(const char *s, long *clen)
{
    const char *cl = strstr(s, "\r\nContent-Length: ");
    const char *end = strstr(s, "\r\n\r\n");

    if (cl == NULL || end == NULL || cl > end)
        fail_msg("no Content-Length in the head:\n%s", s);
    *clen = strtol(cl + 18, NULL, 10);
    return end + 4;
}

static void
test_http_response_error_body_matches_length(void **state)
{
    static const int statuses[] = { 400, 403, 404, 405, 413, 431, 500, 503,
                                    505, 299 };
    struct fx *f = *state;

    for (size_t i = 0; i < ARRAY_SIZE(statuses); i++) {
        char line[64];
        const char *s, *body;
        long clen;

        reset(f);
        assert_int_equal(http_response_error(f->pool, &f->b, statuses[i],
                                             true, false, false, NULL), RC_OK);
        s = output(f);
        snprintf(line, sizeof(line), "HTTP/1.1 %d %s\r\n", statuses[i],
                 http_status_text(statuses[i]));
        assert_int_equal(strncmp(s, line, strlen(line)), 0);
        assert_non_null(strstr(s, "\r\nContent-Type: text/html; "
                                  "charset=utf-8\r\n"));
        body = check_length(s, &clen);
        if ((long) strlen(body) != clen)
            fail_msg("%d: Content-Length %ld, body %zu bytes:\n%s", statuses[i],
                     clen, strlen(body), s);
        /* the page names the status */
        snprintf(line, sizeof(line), "%d %s", statuses[i],
                 http_status_text(statuses[i]));
        assert_non_null(strstr(body, line));
        assert_null(strstr(s, "Connection:"));
    }
}

/* Every status the server sends has a page from the one template: the
 * site's stylesheet and bar, the status in the heading, a link home, and
 * no link that needs script. */
static void
test_http_response_error_pages_one_style(void **state)
{
    static const int statuses[] = { 400, 401, 403, 404, 405, 408, 409, 411,
                                    412, 413, 414, 415, 416, 417, 429, 431,
                                    500, 501, 503, 505 };
    struct fx *f = *state;

    for (size_t i = 0; i < ARRAY_SIZE(statuses); i++) {
        char h1[16];
        const char *s, *body;
        long clen;

        reset(f);
        assert_int_equal(http_response_error(f->pool, &f->b, statuses[i],
                                             true, false, false, NULL), RC_OK);
        s = output(f);
        body = check_length(s, &clen);
        assert_int_equal((long) strlen(body), clen);
        snprintf(h1, sizeof(h1), "<h1>%d ", statuses[i]);
        if (strstr(body, h1) == NULL
            || strstr(body, "<link rel=\"stylesheet\" href=\"/style.css\">") == NULL
            || strstr(body, "<header><a class=\"brand\" href=\"/\">") == NULL
            || strstr(body, "<main class=\"error\">") == NULL
            || strstr(body, "<a href=\"/\">Go home</a>") == NULL
            || strstr(body, "The server could not answer") != NULL)
            fail_msg("%d: not the site's page:\n%s", statuses[i], body);
        if (strstr(body, "javascript:") != NULL || strstr(body, "<script") != NULL)
            fail_msg("%d: the page needs script:\n%s", statuses[i], body);
    }
}

/* security_headers: nosniff on every answer, the HTML policy on HTML. */
static void
test_http_response_security_headers(void **state)
{
    struct fx *f = *state;
    struct http_head h;
    const char *s;

    memset(&h, 0, sizeof(h));
    h.status = 200;
    h.keepalive = true;
    h.content_length = 0;

    for (int on = 0; on <= 1; on++) {
        http_response_set_security(on);

        h.content_type = "text/html; charset=utf-8";
        reset(f);
        assert_int_equal(http_response_head(f->pool, &f->b, &h), RC_OK);
        s = output(f);
        assert_int_equal(strstr(s, "\r\nX-Content-Type-Options: nosniff\r\n")
                         != NULL, on);
        assert_int_equal(strstr(s, "\r\nX-Frame-Options: DENY\r\n") != NULL, on);
        assert_int_equal(strstr(s, "\r\nContent-Security-Policy: ") != NULL, on);

        h.content_type = "text/css";
        reset(f);
        assert_int_equal(http_response_head(f->pool, &f->b, &h), RC_OK);
        s = output(f);
        assert_int_equal(strstr(s, "\r\nX-Content-Type-Options: nosniff\r\n")
                         != NULL, on);
        assert_null(strstr(s, "X-Frame-Options"));
        assert_null(strstr(s, "Content-Security-Policy"));

        h.content_type = "text/htmlx";      /* not HTML */
        reset(f);
        assert_int_equal(http_response_head(f->pool, &f->b, &h), RC_OK);
        assert_null(strstr(output(f), "Content-Security-Policy"));

        h.content_type = NULL;              /* a 304, a redirect */
        reset(f);
        assert_int_equal(http_response_head(f->pool, &f->b, &h), RC_OK);
        assert_int_equal(strstr(output(f), "nosniff") != NULL, on);
    }
    http_response_set_security(false);
}

/* HEAD: same head (Content-Length of the page GET would get), no body. */
static void
test_http_response_error_head_only(void **state)
{
    struct fx *f = *state;
    char *full;
    const char *s, *body;
    long clen, clen_head;

    assert_int_equal(http_response_error(f->pool, &f->b, 404, true, false,
                                         false, NULL), RC_OK);
    full = strdup(output(f));
    assert_non_null(full);
    body = check_length(full, &clen);
    assert_int_equal((long) strlen(body), clen);
    assert_true(clen > 0);

    reset(f);
    assert_int_equal(http_response_error(f->pool, &f->b, 404, true, false,
                                         true, NULL), RC_OK);
    s = output(f);
    body = check_length(s, &clen_head);
    assert_string_equal(body, "");              /* nothing after the head */
    assert_int_equal(clen_head, clen);
    /* and the head is the same */
    assert_int_equal(strncmp(s, full, strlen(s)), 0);
    free(full);
}

static void
test_http_response_error_connection_and_extra(void **state)
{
    struct fx *f = *state;
    const char *s, *body;
    long clen;

    assert_int_equal(http_response_error(f->pool, &f->b, 400, false, false,
                                         false, NULL), RC_OK);
    s = output(f);
    assert_int_equal(count_of(s, "Connection: close\r\n"), 1);

    reset(f);
    assert_int_equal(http_response_error(f->pool, &f->b, 404, true, true,
                                         false, NULL), RC_OK);
    assert_int_equal(count_of(output(f), "Connection: keep-alive\r\n"), 1);

    reset(f);
    assert_int_equal(http_response_error(f->pool, &f->b, 405, true, false,
                                         false, "Allow: GET, HEAD\r\n"), RC_OK);
    s = output(f);
    assert_int_equal(count_of(s, "\r\nAllow: GET, HEAD\r\n"), 1);
    body = check_length(s, &clen);
    assert_int_equal((long) strlen(body), clen);
}

/* static_file_serve() answers an unsatisfiable range with
 * http_response_error(416, extra "Content-Range: bytes *\/SIZE"), the only
 * way to pass the size through it. The response must carry exactly that
 * one Content-Range (RFC 9110 15.5.17), not a second "bytes *\/0". */
static void
test_http_response_error_416_single_content_range(void **state)
{
    struct fx *f = *state;
    const char *s;

    assert_int_equal(http_response_error(f->pool, &f->b, 416, true, false, false,
                                         "Content-Range: bytes */1234\r\n"),
                     RC_OK);
    s = output(f);
    if (count_of(s, "Content-Range:") != 1)
        fail_msg("%d Content-Range headers, expected 1:\n%s",
                 count_of(s, "Content-Range:"), s);
    assert_non_null(strstr(s, "\r\nContent-Range: bytes */1234\r\n"));
}

/* A variant's head: Content-Encoding, Vary and Cache-Control; a
 * multipart 206 (range_total 0) has no Content-Range of its own. */
static void
test_http_response_head_encoding_vary_cache_control(void **state)
{
    struct fx *f = *state;
    struct http_head h = head_200();

    h.content_type = "text/css; charset=utf-8";
    h.content_length = 12;
    h.content_encoding = "br";
    h.vary_encoding = true;
    h.cache_control = "public, max-age=3600";
    h.accept_ranges = true;
    assert_int_equal(http_response_head(f->pool, &f->b, &h), RC_OK);
    assert_string_equal(output(f),
        "HTTP/1.1 200 OK\r\n"
        "Server: " WEBSERVER_NAME "\r\n"
        "Content-Type: text/css; charset=utf-8\r\n"
        "Content-Length: 12\r\n"
        "Content-Encoding: br\r\n"
        "Vary: Accept-Encoding\r\n"
        "Cache-Control: public, max-age=3600\r\n"
        "Accept-Ranges: bytes\r\n"
        "\r\n");

    reset(f);
    h = head_200();
    h.status = 206;
    h.content_type = "multipart/byteranges; boundary=0123456789abcdef";
    h.content_length = 300;
    assert_int_equal(http_response_head(f->pool, &f->b, &h), RC_OK);
    assert_string_equal(output(f),
        "HTTP/1.1 206 Partial Content\r\n"
        "Server: " WEBSERVER_NAME "\r\n"
        "Content-Type: multipart/byteranges; boundary=0123456789abcdef\r\n"
        "Content-Length: 300\r\n"
        "\r\n");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_response_status_text),
        cmocka_unit_test(test_http_response_date_format),
        cmocka_unit_test(test_http_response_date_format_matches_libc),
        cmocka_unit_test(test_http_response_date_now),
#define T(f) cmocka_unit_test_setup_teardown(f, setup_fx, teardown_fx)
        T(test_http_response_head_full_200),
        T(test_http_response_head_minimal),
        T(test_http_response_head_large_length),
        T(test_http_response_head_connection),
        T(test_http_response_head_206),
        T(test_http_response_head_416),
        T(test_http_response_head_location_and_extra),
        T(test_http_response_head_long_fields),
        T(test_http_response_head_appends),
        T(test_http_response_error_body_matches_length),
        T(test_http_response_error_head_only),
        T(test_http_response_error_pages_one_style),
        T(test_http_response_security_headers),
        T(test_http_response_error_connection_and_extra),
        T(test_http_response_error_416_single_content_range),
        T(test_http_response_head_encoding_vary_cache_control),
#undef T
    };

    return cmocka_run_group_tests_name("http_response", tests, NULL, NULL);
}
