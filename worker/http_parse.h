/* http_parse.h - incremental HTTP/1.x request parser (RFC 9110, 9112).
 * No I/O and no allocation: the caller passes the bytes received so far for
 * the current request, starting at its first byte, and calls again with more.
 * Every complete line is checked as soon as it arrives, so any split of the
 * same bytes gives the same result. Fields are slices (offset, length)
 * relative to that first byte, so they survive the buffer moving.
 * Also: percent-decoding of the path, Range and HTTP-date parsing (chunked
 * bodies: http_chunked.h).
 * SPDX-License-Identifier: MIT */
#ifndef WORKER_HTTP_PARSE_H
#define WORKER_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

enum http_method {
    HTTP_METHOD_NONE = 0,
    HTTP_GET,
    HTTP_HEAD,
    HTTP_POST,
    HTTP_OPTIONS,       /* target "*" (the server) or a path */
    HTTP_CONNECT        /* never RC_OK: 501 when well-formed, else 400 */
};

struct http_slice {
    uint32_t off;
    uint32_t len;
};

struct http_request {
    uint8_t           method;           /* enum http_method */
    uint8_t           version;          /* 10, or 11 (also for 1.2-1.9) */
    bool              keepalive;        /* after Connection and version */
    bool              chunked;          /* Transfer-Encoding: chunked */
    bool              expect_continue;  /* Expect: 100-continue */
    bool              has_host;
    uint8_t           xff_lines;        /* X-Forwarded-For lines (at most
                                         * 255 counted) */
    bool              xfp_https;        /* the last X-Forwarded-Proto line
                                         * ends in "https" */
    int64_t           content_length;   /* -1: none */
    uint32_t          head_len;         /* bytes of the head, final CRLF included */
    struct http_slice method_name;
    struct http_slice target;           /* as sent */
    struct http_slice path;             /* of the target, still encoded;
                                         * "*" for OPTIONS * */
    struct http_slice query;            /* after '?', without it */
    struct http_slice host;             /* empty, or host [":" port] */
    struct http_slice cookie;
    struct http_slice range;
    struct http_slice if_none_match;
    struct http_slice if_modified_since;
    struct http_slice if_range;
    struct http_slice if_match;
    struct http_slice if_unmodified_since;
    struct http_slice accept_encoding;
    struct http_slice content_type;
    struct http_slice user_agent;
    struct http_slice referer;
    struct http_slice origin;           /* first Origin header */
    struct http_slice x_forwarded_for;  /* the first line's value; more
                                         * lines: see xff_lines */
};

enum http_parse_state {
    HTTP_PARSE_REQUEST_LINE = 0,
    HTTP_PARSE_HEADERS,
    HTTP_PARSE_DONE
};

struct http_parser {
    uint32_t pos;           /* start of the first line not yet parsed */
    uint32_t scan;          /* bytes already searched for a line end */
    uint8_t  state;         /* enum http_parse_state */
    uint8_t  empty_lines;   /* CRLFs before the request line */
    uint8_t  connection;    /* bit 0: close seen, bit 1: keep-alive seen */
    bool     te_seen;
};

/* Forget everything; call before the first byte of each request. */
void http_parser_init(struct http_parser *p, struct http_request *r);

/* Parse DATA[0, LEN): everything received so far of this request. Returns
 * RC_OK when the head is complete (r->head_len says where the body starts),
 * RC_AGAIN when more bytes are needed, or an HTTP status for the client:
 * 400 malformed, 414 request line longer than MAX_HEAD, 431 head larger
 * than MAX_HEAD, 501 unknown method, CONNECT or transfer coding, 505
 * version other than 1.x, 417 unknown expectation. After an error the
 * parser must be re-initialised.
 * The target must have the form its method takes (RFC 9112 3.2): origin
 * or absolute form, "*" for OPTIONS only, host:port for CONNECT only. A
 * Host value and the authority of an absolute or authority form must be
 * host [":" port] (RFC 3986): a reg-name or a bracketed IPv6 (or IPvFuture)
 * literal, never empty, no userinfo; the port digits up to 65535, empty
 * allowed except for CONNECT. An empty Host value is allowed. */
int http_parse_request(struct http_parser *p, struct http_request *r,
                       const char *data, size_t len, size_t max_head);

/* Name of a method slice as an enum (HTTP_METHOD_NONE when unknown). */
int http_method_from(const char *s, size_t len);

/* Percent-decode an origin-form path into OUT (room for LEN + 1 bytes; NUL
 * terminated). Returns the decoded length, or RC_ERR for a bad escape, an
 * encoded NUL or a raw control byte. */
int http_decode_path(const char *in, size_t len, char *out);

/* Decode application/x-www-form-urlencoded (or query) component in place
 * rules: '+' is a space, %XX escapes. Returns the length or RC_ERR. */
int http_decode_form(const char *in, size_t len, char *out);

/* The same into OUT of CAP bytes (NUL included); RC_ERR when the decoded
 * value does not fit. */
int http_decode_form_cap(const char *in, size_t len, char *out, size_t cap);

/* ---- Range, dates ---- */

/* Most ranges a multipart answer carries (after coalescing), and most
 * range-specs a Range header may list before coalescing (Apache's
 * MaxRanges idea: past it the header is ignored, the cost of sorting stays
 * bounded and the list fits on the stack). */
#define HTTP_RANGES_MAX       16
#define HTTP_RANGE_SPECS_MAX  128

struct http_range {
    off_t first;            /* inclusive */
    off_t last;             /* inclusive */
};

/* Evaluate a Range header value (RFC 9110 14.1.2: "bytes=" and a list of
 * range-specs, OWS around commas, empty elements ignored) against a
 * representation of SIZE bytes. The satisfiable ranges are clipped to SIZE,
 * sorted, and overlapping or adjacent ones coalesced into OUT (room for
 * MAX). Returns how many (1 to MAX); RC_DONE when the header is to be
 * ignored (bad syntax anywhere, another unit, more than
 * HTTP_RANGE_SPECS_MAX specs, or more than MAX ranges after coalescing);
 * 416 when none is satisfiable. */
int http_parse_range_set(const char *s, size_t len, off_t size,
                         struct http_range *out, size_t max);

/* Parse an HTTP-date (IMF-fixdate, RFC 850 or asctime). Returns RC_OK with
 * *t set, or RC_ERR. */
int http_parse_date(const char *s, size_t len, time_t *t);

/* RFC 5234 CTL: a control byte (what a request line and a field value
 * may not hold; HTAB aside in values). */
static inline bool
http_is_ctl(unsigned char ch)
{
    return ch < 0x20 || ch == 0x7f;
}

/* The value of hex digit CH, or -1. */
static inline int
http_hex(unsigned char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch |= 0x20;
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

#endif
