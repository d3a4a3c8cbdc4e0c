/* http_util.h - small pure helpers for the session routes: form fields,
 * cookies, HTML escaping. No I/O, no allocation. Worker only.
 * SPDX-License-Identifier: MIT */
#ifndef WORKER_HTTP_UTIL_H
#define WORKER_HTTP_UTIL_H

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

#endif
