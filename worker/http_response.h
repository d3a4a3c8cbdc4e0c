/* http_response.h - status lines, response heads and error pages written
 * into a buf; the Date value is cached per second. Worker only.
 * SPDX-License-Identifier: MIT */
#ifndef WORKER_HTTP_RESPONSE_H
#define WORKER_HTTP_RESPONSE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "buf.h"

#define HTTP_DATE_LEN 29    /* "Sun, 06 Nov 1994 08:49:37 GMT" */

struct http_head {
    int         status;
    bool        keepalive;      /* else "Connection: close" */
    bool        http10;         /* 1.0 client: say keep-alive explicitly */
    bool        accept_ranges;
    const char *content_type;   /* NULL: none */
    int64_t     content_length; /* -1: none */
    time_t      last_modified;  /* 0: none */
    const char *etag;           /* NULL: none */
    const char *location;       /* NULL: none */
    const char *content_encoding;   /* NULL: none ("gzip", "br") */
    const char *cache_control;  /* NULL: none */
    bool        vary_encoding;  /* Vary: Accept-Encoding */
    off_t       range_first;    /* 206: bytes first-last/total */
    off_t       range_last;
    off_t       range_total;    /* 0: no Content-Range (a multipart 206
                                 * carries one per part; 416 passes its
                                 * own in extra) */
    const char *extra;          /* NULL, or more "Name: value\r\n" lines */
    const char *extra_conn;     /* the same, from the connection layer
                                 * (Strict-Transport-Security) */
};

/* security_headers (DESIGN.md "Security"): with ON, every head says
 * X-Content-Type-Options: nosniff, and heads of HTML answers (a
 * Content-Type of text/html) also carry HTTP_RESPONSE_HTML_POLICY.
 * Set once per worker before the first response. */
void http_response_set_security(bool on);

/* The headers an HTML answer carries with security_headers on: no
 * framing, no Referer to other sites, and a Content-Security-Policy that
 * lets pages use the site's own styles, images, media and forms only (the
 * site needs no script at all). */
#define HTTP_RESPONSE_HTML_POLICY                                           \
    "X-Frame-Options: DENY\r\n"                                             \
    "Referrer-Policy: same-origin\r\n"                                      \
    "Content-Security-Policy: default-src 'self'; script-src 'none'; "      \
    "object-src 'none'; base-uri 'none'; form-action 'self'; "              \
    "frame-ancestors 'none'\r\n"

/* Reason phrase of STATUS ("Not Found"); "Unknown" for others. */
const char *http_status_text(int status);

/* Format T as an IMF-fixdate into OUT (HTTP_DATE_LEN + 1 bytes). */
void http_date_format(time_t t, char *out);

/* The current Date value, formatted at most once per second. */
const char *http_date_now(void);

/* Append the status line and headers of H, ending with the empty line.
 * Returns RC_OK or RC_ERR (ENOMEM). */
int http_response_head(mpool *p, struct buf *b, const struct http_head *h);

/* Append a complete error response (head and a small HTML page unless
 * HEAD_ONLY). EXTRA as in struct http_head. Returns RC_OK or RC_ERR. */
int http_response_error(mpool *p, struct buf *b, int status, bool keepalive,
                        bool http10, bool head_only, const char *extra);

/* Load the site's error pages, ROOT/errors/<status>.html (each up to
 * 16 KiB), used by http_response_error() instead of the built-in page.
 * Read once per worker, so a reload picks up changes. */
void http_response_load_pages(int root_fd);
void http_response_free_pages(void);

#endif
