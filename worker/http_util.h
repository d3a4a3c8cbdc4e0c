/* http_util.h - small pure helpers for the session routes: form fields,
 * cookies, HTML escaping. No I/O, no allocation. Worker only.
 * SPDX-License-Identifier: MIT */
#ifndef WORKER_HTTP_UTIL_H
#define WORKER_HTTP_UTIL_H

#include <stdbool.h>
#include <stddef.h>

/* Decode the first field NAME of an application/x-www-form-urlencoded BODY
 * into OUT (CAP bytes, NUL-terminated). Returns its length, RC_DONE when the
 * field is absent, RC_ERR for a bad escape, an encoded NUL, or a value that
 * does not fit. */
int http_util_form_field(const char *body, size_t len, const char *name,
                         char *out, size_t cap);

/* Value of cookie NAME in a Cookie header value ("a=1; sid=xyz"), quotes
 * removed, into OUT (CAP bytes, NUL-terminated). Returns its length,
 * RC_DONE when absent, RC_ERR when it does not fit. */
int http_util_cookie(const char *hdr, size_t len, const char *name,
                     char *out, size_t cap);

/* Escape & < > " ' of IN for HTML text and attributes into OUT (CAP bytes,
 * NUL-terminated). Returns the length or RC_ERR when it does not fit. */
int http_util_html_escape(const char *in, size_t len, char *out, size_t cap);

/* Does S (LEN bytes: an Origin value "https://host:port", or a Referer
 * URL) name the site that a request for HOST (its Host value, host
 * [":" port], HLEN bytes) reached, over HTTPS when HTTPS? Scheme and host
 * compare without case; no port means the scheme's default (80, 443).
 * "null", other schemes, userinfo, an empty host or an empty HOST: false. */
bool http_util_same_origin(const char *s, size_t len, bool https,
                           const char *host, size_t hlen);

#endif
