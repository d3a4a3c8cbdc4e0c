/* http_chunked.h - incremental decoder of chunked request bodies (RFC 9112
 * 7.1): sizes, extensions, data and trailers, fed in any pieces, decoding
 * in place. Pure: no I/O, no allocation. Worker only.
 * SPDX-License-Identifier: MIT */
#ifndef WORKER_HTTP_CHUNKED_H
#define WORKER_HTTP_CHUNKED_H

#include <stddef.h>
#include <stdint.h>

struct http_chunked {
    uint8_t  state;
    uint64_t size;          /* of the chunk being read */
    uint64_t total;         /* decoded bytes so far */
    uint32_t line;          /* bytes of the current size/trailer line */
    uint32_t trailer;       /* bytes of the trailer section so far */
    uint32_t trailer_max;   /* 0: no limit but the per-line one */
};

void http_chunked_init(struct http_chunked *c);

/* Limit the trailer section (the lines after the last chunk, final CRLF
 * included) to MAX bytes; beyond it, decoding returns 431. */
void http_chunked_set_trailer_max(struct http_chunked *c, size_t max);

/* Decode IN[0, LEN) into OUT (OUT <= IN is allowed: it works in place).
 * *consumed bytes of input were used, *produced bytes written (both 0 on an
 * error return). Returns RC_OK
 * at the end of the body (last chunk and trailers read), RC_AGAIN when it
 * needs more input, 400 on a syntax error, 413 once the body would exceed
 * MAX_BODY, 431 once the trailers exceed their limit. */
int http_chunked_decode(struct http_chunked *c, char *out, const char *in,
                        size_t len, size_t *consumed, size_t *produced,
                        uint64_t max_body);

#endif
