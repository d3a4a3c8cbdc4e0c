/* http_response.c - response heads and error pages (see http_response.h).
 * Worker only; formats with plain copies, no stdio on the hot path.
 * SPDX-License-Identifier: MIT */
#include "http_response.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <string.h>
#include <strings.h>

#include "defs.h"

struct http_status {
    int         code;
    const char *text;
};

static const struct http_status http_statuses[] = {
    { 100, "Continue" },
    { 200, "OK" },
    { 204, "No Content" },
    { 206, "Partial Content" },
    { 301, "Moved Permanently" },
    { 302, "Found" },
    { 303, "See Other" },
    { 304, "Not Modified" },
    { 400, "Bad Request" },
    { 401, "Unauthorized" },
    { 403, "Forbidden" },
    { 404, "Not Found" },
    { 405, "Method Not Allowed" },
    { 408, "Request Timeout" },
    { 409, "Conflict" },
    { 411, "Length Required" },
    { 412, "Precondition Failed" },
    { 413, "Content Too Large" },
    { 414, "URI Too Long" },
    { 415, "Unsupported Media Type" },
    { 416, "Range Not Satisfiable" },
    { 417, "Expectation Failed" },
    { 429, "Too Many Requests" },
    { 431, "Request Header Fields Too Large" },
    { 500, "Internal Server Error" },
    { 501, "Not Implemented" },
    { 503, "Service Unavailable" },
    { 505, "HTTP Version Not Supported" },
};

const char *
http_status_text(int status)
{
    for (size_t i = 0; i < ARRAY_SIZE(http_statuses); i++) {
        if (http_statuses[i].code == status)
            return http_statuses[i].text;
    }
    return "Unknown";
}

/* Two digits of V (0..99) at P. */
static inline void
http_date_2d(char *p, unsigned v)
{
    p[0] = (char) ('0' + v / 10);
    p[1] = (char) ('0' + v % 10);
}

/* The proleptic Gregorian date of day DAYS since 1970-01-01: *Y, *M
 * (1..12), *D (1..31). Counted in 400-year eras that start on March 1st,
 * so that the leap day is the last day of a year. */
static void
http_date_civil(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t z = days + 719468;      /* days since 0000-03-01 */
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned) (z - era * 146097);               /* 0..146096 */
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);     /* 0..365 */
    unsigned mp = (5 * doy + 2) / 153;                          /* 0 = March */

    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t) yoe + era * 400 + (*m <= 2);
}

/* IMF-fixdate by hand: gmtime_r() takes glibc's time zone lock and
 * snprintf() parses its format on every call, and the Last-Modified of
 * every static answer comes through here. The last few results are kept. */
void
http_date_format(time_t t, char *out)
{
    static const char days[7][4] = {
        "Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"     /* 1970-01-01 */
    };
    static const char months[12][4] = {
        "Jan", "Feb", "Mar", "Apr", "May", "Jun",
        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
    };
    static struct {
        time_t t;
        char   s[HTTP_DATE_LEN + 1];
    } memo[8];
    unsigned slot = (unsigned) ((uint64_t) t % ARRAY_SIZE(memo));
    int64_t day, secs, y;
    unsigned m, d;

    if (memo[slot].s[0] != '\0' && memo[slot].t == t) {
        memcpy(out, memo[slot].s, HTTP_DATE_LEN + 1);
        return;
    }
    day = (int64_t) t / 86400;
    secs = (int64_t) t % 86400;
    if (secs < 0) {
        secs += 86400;
        day--;
    }
    http_date_civil(day, &y, &m, &d);
    if (y < 0 || y > 9999)
        y = y < 0 ? 0 : 9999;       /* four digits, as the format has */
    /* "Sun, 06 Nov 1994 08:49:37 GMT" */
    memcpy(out, days[((day % 7) + 7) % 7], 3);
    memcpy(out + 3, ", ", 2);
    http_date_2d(out + 5, d);
    out[7] = ' ';
    memcpy(out + 8, months[m - 1], 3);
    out[11] = ' ';
    http_date_2d(out + 12, (unsigned) (y / 100));
    http_date_2d(out + 14, (unsigned) (y % 100));
    out[16] = ' ';
    http_date_2d(out + 17, (unsigned) (secs / 3600));
    out[19] = ':';
    http_date_2d(out + 20, (unsigned) (secs / 60 % 60));
    out[22] = ':';
    http_date_2d(out + 23, (unsigned) (secs % 60));
    memcpy(out + 25, " GMT", 5);    /* with the '\0' */
    memo[slot].t = t;
    memcpy(memo[slot].s, out, HTTP_DATE_LEN + 1);
}

const char *
http_date_now(void)
{
    static char cached[HTTP_DATE_LEN + 1];
    static time_t cached_at = -1;
    time_t now = time(NULL);

    if (now != cached_at) {
        http_date_format(now, cached);
        cached_at = now;
    }
    return cached;
}

/* Append helpers: the caller reserved enough room. */
static inline char *
put_str(char *p, const char *s)
{
    size_t n = strlen(s);
    memcpy(p, s, n);
    return p + n;
}

static inline char *
put_lit(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

#define PUT_LIT(p, s) put_lit((p), (s), sizeof(s) - 1)

static char *
put_u64(char *p, uint64_t v)
{
    char tmp[24];
    int n = 0;

    do {
        tmp[n++] = (char) ('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0)
        *p++ = tmp[--n];
    return p;
}

static bool http_security_on;

void
http_response_set_security(bool on)
{
    http_security_on = on;
}

/* Is CT (a Content-Type value) HTML? */
static bool
http_is_html(const char *ct)
{
    return ct != NULL && strncasecmp(ct, "text/html", 9) == 0
           && (ct[9] == '\0' || ct[9] == ';' || ct[9] == ' ');
}

int
http_response_head(mpool *pool, struct buf *b, const struct http_head *h)
{
    size_t need = 512 + sizeof(HTTP_RESPONSE_HTML_POLICY);
    char *p, *start;

    if (h->content_type != NULL)
        need += strlen(h->content_type);
    if (h->location != NULL)
        need += strlen(h->location);
    if (h->etag != NULL)
        need += strlen(h->etag);
    if (h->extra != NULL)
        need += strlen(h->extra);
    if (h->extra_conn != NULL)
        need += strlen(h->extra_conn);
    if (h->content_encoding != NULL)
        need += strlen(h->content_encoding);
    if (h->cache_control != NULL)
        need += strlen(h->cache_control);
    if (buf_reserve(pool, b, need) != RC_OK)
        return RC_ERR;

    start = p = b->data + b->wpos;
    p = PUT_LIT(p, "HTTP/1.1 ");
    p = put_u64(p, (uint64_t) h->status);
    *p++ = ' ';
    p = put_str(p, http_status_text(h->status));
    p = PUT_LIT(p, "\r\nServer: " WEBSERVER_NAME "\r\nDate: ");
    p = put_lit(p, http_date_now(), HTTP_DATE_LEN);
    p = PUT_LIT(p, "\r\n");
    if (h->content_type != NULL) {
        p = PUT_LIT(p, "Content-Type: ");
        p = put_str(p, h->content_type);
        p = PUT_LIT(p, "\r\n");
    }
    if (h->content_length >= 0) {
        p = PUT_LIT(p, "Content-Length: ");
        p = put_u64(p, (uint64_t) h->content_length);
        p = PUT_LIT(p, "\r\n");
    }
    if (h->last_modified != 0) {
        char date[HTTP_DATE_LEN + 1];
        http_date_format(h->last_modified, date);
        p = PUT_LIT(p, "Last-Modified: ");
        p = put_lit(p, date, HTTP_DATE_LEN);
        p = PUT_LIT(p, "\r\n");
    }
    if (h->etag != NULL) {
        p = PUT_LIT(p, "ETag: ");
        p = put_str(p, h->etag);
        p = PUT_LIT(p, "\r\n");
    }
    if (h->content_encoding != NULL) {
        p = PUT_LIT(p, "Content-Encoding: ");
        p = put_str(p, h->content_encoding);
        p = PUT_LIT(p, "\r\n");
    }
    if (h->vary_encoding)
        p = PUT_LIT(p, "Vary: Accept-Encoding\r\n");
    if (h->cache_control != NULL) {
        p = PUT_LIT(p, "Cache-Control: ");
        p = put_str(p, h->cache_control);
        p = PUT_LIT(p, "\r\n");
    }
    if (h->accept_ranges)
        p = PUT_LIT(p, "Accept-Ranges: bytes\r\n");
    if (h->status == 206 && h->range_total > 0) {
        p = PUT_LIT(p, "Content-Range: bytes ");
        p = put_u64(p, (uint64_t) h->range_first);
        *p++ = '-';
        p = put_u64(p, (uint64_t) h->range_last);
        *p++ = '/';
        p = put_u64(p, (uint64_t) h->range_total);
        p = PUT_LIT(p, "\r\n");
    }
    if (h->location != NULL) {
        p = PUT_LIT(p, "Location: ");
        p = put_str(p, h->location);
        p = PUT_LIT(p, "\r\n");
    }
    if (h->extra != NULL)
        p = put_str(p, h->extra);
    if (h->extra_conn != NULL)
        p = put_str(p, h->extra_conn);
    if (http_security_on) {
        p = PUT_LIT(p, "X-Content-Type-Options: nosniff\r\n");
        if (http_is_html(h->content_type))
            p = PUT_LIT(p, HTTP_RESPONSE_HTML_POLICY);
    }
    if (!h->keepalive)
        p = PUT_LIT(p, "Connection: close\r\n");
    else if (h->http10)
        p = PUT_LIT(p, "Connection: keep-alive\r\n");
    p = PUT_LIT(p, "\r\n");
    b->wpos += (size_t) (p - start);
    return RC_OK;
}

#define HTTP_PAGE_MAX (16 * 1024)

/* A file ROOT/errors/<status>.html, when the site has one: it replaces the
 * page the template makes. */
struct http_page {
    int     status;
    char   *body;       /* NULL: use the template */
    size_t  len;
};

static struct http_page http_pages[] = {
    { 400, NULL, 0 }, { 401, NULL, 0 }, { 403, NULL, 0 }, { 404, NULL, 0 },
    { 405, NULL, 0 }, { 408, NULL, 0 }, { 409, NULL, 0 }, { 411, NULL, 0 },
    { 412, NULL, 0 }, { 413, NULL, 0 }, { 414, NULL, 0 }, { 415, NULL, 0 },
    { 416, NULL, 0 }, { 417, NULL, 0 }, { 429, NULL, 0 }, { 431, NULL, 0 },
    { 500, NULL, 0 }, { 501, NULL, 0 }, { 503, NULL, 0 }, { 505, NULL, 0 },
};

/* What the template says for each status the server sends: a heading
 * (NULL: the reason phrase) and a paragraph of HTML for a person, with a
 * way on. Links only, no script: the site needs none. */
struct http_page_text {
    int         status;
    const char *title;
    const char *text;
};

static const struct http_page_text http_page_texts[] = {
    { 400, NULL, "The request could not be understood. If you were filling "
      "in a form, check that the username has 3 to 32 letters, digits, "
      "dots, dashes or underscores and that the password has 8 to 128 "
      "characters, then try again: <a href=\"/register.html\">register</a> "
      "or <a href=\"/login.html\">log in</a>." },
    { 401, "Wrong username or password", "That username and password do "
      "not match. <a href=\"/login.html\">Try again</a>. After several "
      "failed attempts, logins from your address pause for a while." },
    { 403, NULL, "The server refused this request.</p>\n<p>If a form on "
      "another site sent you here: signing in, registering and signing out "
      "only work from this site's own pages, so that no other site can do "
      "them in your name. Use <a href=\"/login.html\">our login page</a>." },
    { 404, NULL, "There is nothing at this address." },
    { 405, NULL, "This address does not take that kind of request: pages "
      "are read with GET, and only the forms post (to /register, /login "
      "and /logout)." },
    { 408, NULL, "The request took too long to arrive, so the server "
      "stopped waiting. Please try again." },
    { 409, "Username taken", "Someone already registered that username. "
      "<a href=\"/register.html\">Pick another one</a>, or "
      "<a href=\"/login.html\">log in</a> if it is yours." },
    { 411, NULL, "A request with a body must say how long it is." },
    { 412, NULL, "The page has changed since your copy was made, so the "
      "request's condition no longer holds. Reload it and try again." },
    { 413, NULL, "The request carries more data than the server accepts "
      "at this address." },
    { 414, NULL, "The address is longer than the server accepts." },
    { 415, NULL, "The form was sent in an encoding the server does not "
      "read. Please use the forms on this site: "
      "<a href=\"/login.html\">log in</a>." },
    { 416, NULL, "The part of the file asked for lies beyond its end." },
    { 417, NULL, "The server cannot meet the request's Expect header." },
    { 429, "Too many attempts", "Too many failed logins came from your "
      "address. Logins from it pause for a few minutes; then "
      "<a href=\"/login.html\">try again</a>." },
    { 431, NULL, "The request's headers are larger than the server "
      "accepts. Removing this site's cookies from your browser may help." },
    { 500, NULL, "Something went wrong on the server. Please try again; if "
      "it keeps happening, tell the site's operator." },
    { 501, NULL, "The server does not support this kind of request." },
    { 503, NULL, "Accounts and sessions are unavailable for a moment; the "
      "pages still work. Please try again in a few seconds: "
      "<a href=\"/login.html\">log in</a>." },
    { 505, NULL, "The server speaks HTTP/1.0 and HTTP/1.1." },
};

/* The site's error page for STATUS from the one template, into OUT (LEN
 * bytes). Returns its length. */
static size_t
http_page_render(int status, char *out, size_t len)
{
    const char *reason = http_status_text(status), *title = reason;
    const char *text = "The server could not answer this request.";
    int n;

    for (size_t i = 0; i < ARRAY_SIZE(http_page_texts); i++) {
        if (http_page_texts[i].status == status) {
            if (http_page_texts[i].title != NULL)
                title = http_page_texts[i].title;
            text = http_page_texts[i].text;
        }
    }
    n = snprintf(out, len,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
        "<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, "
        "initial-scale=1\">\n"
        "<title>%d %s - " WEBSERVER_NAME "</title>\n"
        "<link rel=\"stylesheet\" href=\"/style.css\">\n"
        "</head>\n<body>\n"
        "<header><a class=\"brand\" href=\"/\">" WEBSERVER_NAME "</a>"
        "<a href=\"/register.html\">Register</a>"
        "<a href=\"/login.html\">Log in</a></header>\n"
        "<main class=\"error\">\n<h1>%d %s</h1>\n<p>%s</p>\n"
        "<p><a href=\"/\">Go home</a></p>\n</main>\n</body>\n</html>\n",
        status, title, status, title, text);
    return n < 0 ? 0 : (size_t) n >= len ? len - 1 : (size_t) n;
}

void
http_response_load_pages(int root_fd)
{
    for (size_t i = 0; i < ARRAY_SIZE(http_pages); i++) {
        char name[32];
        struct stat st;
        ssize_t n;
        int fd;

        snprintf(name, sizeof(name), "errors/%d.html", http_pages[i].status);
        fd = openat(root_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
            continue;
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0
            && st.st_size <= HTTP_PAGE_MAX) {
            char *body = malloc((size_t) st.st_size);
            n = body != NULL ? read(fd, body, (size_t) st.st_size) : -1;
            if (n == st.st_size) {
                http_pages[i].body = body;
                http_pages[i].len = (size_t) n;
            } else {
                free(body);
            }
        }
        close(fd);
    }
}

void
http_response_free_pages(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(http_pages); i++) {
        free(http_pages[i].body);
        http_pages[i].body = NULL;
    }
}

int
http_response_error(mpool *pool, struct buf *b, int status, bool keepalive,
                    bool http10, bool head_only, const char *extra)
{
    char body[2048];
    const char *page = NULL;
    struct http_head h;
    size_t len = 0;

    for (size_t i = 0; i < ARRAY_SIZE(http_pages); i++) {
        if (http_pages[i].status == status && http_pages[i].body != NULL) {
            page = http_pages[i].body;
            len = http_pages[i].len;
        }
    }
    if (page == NULL) {
        len = http_page_render(status, body, sizeof(body));
        page = body;
    }
    memset(&h, 0, sizeof(h));
    h.status = status;
    h.keepalive = keepalive;
    h.http10 = http10;
    h.content_type = "text/html; charset=utf-8";
    h.content_length = (int64_t) len;
    h.extra = extra;
    if (http_response_head(pool, b, &h) != RC_OK)
        return RC_ERR;
    if (head_only)
        return RC_OK;
    return buf_append(pool, b, page, len);
}
