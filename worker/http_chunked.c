/* http_chunked.c - chunked request bodies (see http_chunked.h).
 * SPDX-License-Identifier: MIT */
#include "http_chunked.h"

#include <string.h>

#include "defs.h"
#include "http_parse.h"     /* http_hex(), http_is_ctl() */

#define HTTP_CHUNK_LINE_MAX    4096     /* a size or trailer line */

enum {
    CH_SIZE = 0,        /* hex digits */
    CH_SIZE_WS,         /* blanks after the digits */
    CH_EXT,             /* ";..." up to CR */
    CH_SIZE_LF,         /* CR seen, LF expected */
    CH_DATA,
    CH_DATA_CR,
    CH_DATA_LF,
    CH_TRAILER,         /* start of a trailer line (or the final CRLF) */
    CH_TRAILER_LINE,
    CH_TRAILER_LF,
    CH_END_LF,
    CH_DONE
};

void
http_chunked_init(struct http_chunked *c)
{
    memset(c, 0, sizeof(*c));
}

void
http_chunked_set_trailer_max(struct http_chunked *c, size_t max)
{
    c->trailer_max = max > UINT32_MAX ? UINT32_MAX : (uint32_t) max;
}

int
http_chunked_decode(struct http_chunked *c, char *out, const char *in,
                    size_t len, size_t *consumed, size_t *produced,
                    uint64_t max_body)
{
    size_t i = 0, o = 0;

    *consumed = *produced = 0;      /* what an error return leaves */
    while (i < len && c->state != CH_DONE) {
        unsigned char ch = (unsigned char) in[i];

        if (c->state == CH_DATA) {
            size_t n = len - i;
            if (n > c->size)
                n = (size_t) c->size;
            memmove(out + o, in + i, n);
            o += n;
            i += n;
            c->size -= n;
            c->total += n;
            if (c->size == 0)
                c->state = CH_DATA_CR;
            continue;
        }
        i++;
        if (++c->line > HTTP_CHUNK_LINE_MAX)
            return 400;
        if (c->state >= CH_TRAILER && c->trailer_max > 0
            && ++c->trailer > c->trailer_max)
            return 431;

        switch (c->state) {
        case CH_SIZE: {
            int h = http_hex(ch);
            if (h >= 0) {
                if (c->size >> 56)
                    return 400;             /* more than 15 hex digits */
                c->size = c->size << 4 | (uint64_t) h;
                break;
            }
            if (c->line == 1)
                return 400;                 /* no digit at all */
            if (ch == ' ' || ch == '\t')
                c->state = CH_SIZE_WS;
            else if (ch == ';')
                c->state = CH_EXT;
            else if (ch == '\r')
                c->state = CH_SIZE_LF;
            else
                return 400;
            break;
        }
        case CH_SIZE_WS:
            if (ch == ';')
                c->state = CH_EXT;
            else if (ch == '\r')
                c->state = CH_SIZE_LF;
            else if (ch != ' ' && ch != '\t')
                return 400;
            break;
        case CH_EXT:
            if (ch == '\r')
                c->state = CH_SIZE_LF;
            else if (http_is_ctl(ch) && ch != '\t')
                return 400;
            break;
        case CH_SIZE_LF:
            if (ch != '\n')
                return 400;
            c->line = 0;
            if (c->size == 0) {
                c->state = CH_TRAILER;
                break;
            }
            if (c->total > max_body || c->size > max_body - c->total)
                return 413;
            c->state = CH_DATA;
            break;
        case CH_DATA_CR:
            if (ch != '\r')
                return 400;
            c->state = CH_DATA_LF;
            break;
        case CH_DATA_LF:
            if (ch != '\n')
                return 400;
            c->state = CH_SIZE;
            c->size = 0;
            c->line = 0;
            break;
        case CH_TRAILER:
            if (ch == '\r') {
                c->state = CH_END_LF;
            } else if (http_is_ctl(ch) && ch != '\t') {
                return 400;
            } else {
                c->state = CH_TRAILER_LINE;
            }
            break;
        case CH_TRAILER_LINE:
            if (ch == '\r')
                c->state = CH_TRAILER_LF;
            else if (http_is_ctl(ch) && ch != '\t')
                return 400;
            break;
        case CH_TRAILER_LF:
            if (ch != '\n')
                return 400;
            c->line = 0;
            c->state = CH_TRAILER;
            break;
        case CH_END_LF:
            if (ch != '\n')
                return 400;
            c->state = CH_DONE;
            break;
        default:
            return 400;
        }
    }
    *consumed = i;
    *produced = o;
    return c->state == CH_DONE ? RC_OK : RC_AGAIN;
}
