/* fuzz_http_parse.c - libFuzzer target for worker/http_parse.h.
 * Every input goes through the request parser (one-shot, split in two and
 * three pieces, and byte by byte when short), the chunked decoder (into a
 * separate buffer, in place, and split), Range, path/form decoding and
 * HTTP-date. Invariants are checked with __builtin_trap(), so a violation
 * is a crash with the input saved as an artifact:
 * - every slice lies inside the head, head_len <= len, the head ends in LF;
 * - RC_OK means a known method other than CONNECT, version 10/11, Host in
 *   1.1, not both chunked and Content-Length, "*" as target only for
 *   OPTIONS, a Host without '@', '/' or whitespace; 414/431 only past
 *   max_head, RC_AGAIN never;
 * - any split of the same bytes gives the one-shot rc and fields;
 * - the chunked decoder never consumes more than it was given, never
 *   produces more than it consumed or more than max_body in total, and
 *   gives the same bytes in place and split;
 * - range sets are sorted, disjoint and inside the file; decoders never
 *   grow output.
 * Each piece is a fresh exact-size heap copy so ASan sees any over-read.
 * SPDX-License-Identifier: MIT */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "defs.h"
#include "http_chunked.h"
#include "http_parse.h"

#define FUZZ_MAX_LEN      8192    /* longer inputs add nothing but time */
#define FUZZ_BYTEWISE_MAX 512
#define FUZZ_MAX_BODY     1024

#define CHECK(cond)                                                         \
    do {                                                                    \
        if (!(cond))                                                        \
            __builtin_trap();                                               \
    } while (0)

static char *
fuzz_dup(const char *s, size_t len)
{
    char *d = malloc(len > 0 ? len : 1);

    if (d == NULL)
        abort();
    if (len > 0)
        memcpy(d, s, len);
    return d;
}

static bool
slice_same(struct http_slice a, struct http_slice b)
{
    return a.off == b.off && a.len == b.len;
}

static bool
req_same(const struct http_request *a, const struct http_request *b)
{
    return a->method == b->method && a->version == b->version
        && a->keepalive == b->keepalive && a->chunked == b->chunked
        && a->expect_continue == b->expect_continue
        && a->has_host == b->has_host
        && a->content_length == b->content_length
        && a->head_len == b->head_len
        && slice_same(a->method_name, b->method_name)
        && slice_same(a->target, b->target)
        && slice_same(a->path, b->path)
        && slice_same(a->query, b->query)
        && slice_same(a->host, b->host)
        && slice_same(a->cookie, b->cookie)
        && slice_same(a->range, b->range)
        && slice_same(a->if_none_match, b->if_none_match)
        && slice_same(a->if_modified_since, b->if_modified_since)
        && slice_same(a->if_range, b->if_range)
        && slice_same(a->if_match, b->if_match)
        && slice_same(a->if_unmodified_since, b->if_unmodified_since)
        && slice_same(a->accept_encoding, b->accept_encoding)
        && slice_same(a->content_type, b->content_type)
        && slice_same(a->user_agent, b->user_agent)
        && slice_same(a->referer, b->referer)
        && slice_same(a->origin, b->origin)
        && slice_same(a->x_forwarded_for, b->x_forwarded_for)
        && a->xff_lines == b->xff_lines && a->xfp_https == b->xfp_https;
}

/* ---- Range, decoders, dates (also run on parsed slices) ---- */

static void
fuzz_range(const char *s, size_t len)
{
    static const off_t sizes[] = { 0, 1, 100, 1000, INT64_MAX };

    for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
        struct http_range out[HTTP_RANGES_MAX];
        int rc = http_parse_range_set(s, len, sizes[i], out, HTTP_RANGES_MAX);

        CHECK(rc == RC_DONE || rc == 416 || (rc >= 1 && rc <= HTTP_RANGES_MAX));
        /* sorted, disjoint, not adjacent, inside the representation */
        for (int k = 0; k < rc && rc != 416; k++) {
            CHECK(out[k].first >= 0 && out[k].first <= out[k].last
                  && out[k].last < sizes[i]);
            if (k > 0)
                CHECK(out[k].first > out[k - 1].last + 1);
        }
    }
}

/* NUL_FREE: the decoded bytes must hold no NUL (http_decode_path's
 * contract). Not asked of http_decode_form while it lets a raw NUL through
 * (it refuses only %00): test_http_parse_decode_form_raw_nul covers that,
 * and checking it here would stop every run on the first NUL byte. */
static void
fuzz_decode(const char *s, size_t len,
            int (*fn)(const char *, size_t, char *), bool nul_free)
{
    char *out = malloc(len + 1);
    int rc, rc2;

    if (out == NULL)
        abort();
    rc = fn(s, len, out);
    CHECK(rc == RC_ERR || (rc >= 0 && (size_t) rc <= len));
    if (rc >= 0) {
        char *again = fuzz_dup(out, (size_t) rc);
        CHECK(out[rc] == '\0');
        CHECK(!nul_free || memchr(out, '\0', (size_t) rc) == NULL);
        memcpy(out, s, len);                    /* in place: same result */
        rc2 = fn(out, len, out);
        CHECK(rc2 == rc && memcmp(out, again, (size_t) rc) == 0);
        free(again);
    }
    free(out);
}

static void
fuzz_date(const char *s, size_t len)
{
    time_t t;
    int rc = http_parse_date(s, len, &t);

    CHECK(rc == RC_OK || rc == RC_ERR);
}

/* ---- Request parser ---- */

static int
parse_once(const char *data, size_t len, size_t max_head,
           struct http_request *r)
{
    struct http_parser p;
    char *buf = fuzz_dup(data, len);
    int rc;

    http_parser_init(&p, r);
    rc = http_parse_request(&p, r, buf, len, max_head);
    free(buf);
    return rc;
}

/* Feed prefixes of the given lengths (ascending, the last one LEN) until an
 * answer other than RC_AGAIN. */
static int
parse_pieces(const char *data, const size_t *ends, size_t n,
             size_t max_head, struct http_request *r)
{
    struct http_parser p;
    int rc = RC_AGAIN;

    http_parser_init(&p, r);
    for (size_t i = 0; i < n && rc == RC_AGAIN; i++) {
        char *buf = fuzz_dup(data, ends[i]);
        rc = http_parse_request(&p, r, buf, ends[i], max_head);
        free(buf);
    }
    return rc;
}

static void
check_request(const char *data, size_t len, size_t max_head, int rc,
              const struct http_request *r)
{
    const struct http_slice *all[] = {
        &r->method_name, &r->target, &r->path, &r->query, &r->host,
        &r->cookie, &r->range, &r->if_none_match, &r->if_modified_since,
        &r->if_range, &r->content_type, &r->user_agent, &r->referer,
        &r->if_match, &r->if_unmodified_since, &r->accept_encoding,
        &r->origin, &r->x_forwarded_for,
    };

    CHECK(rc == RC_OK || rc == RC_AGAIN || rc == 400 || rc == 414
          || rc == 417 || rc == 431 || rc == 501 || rc == 505);
    if (rc == RC_AGAIN)
        CHECK(len <= max_head);         /* never waits for a head too big */
    if (rc == 414 || rc == 431)
        CHECK(len > max_head);
    if (rc != RC_OK)
        return;

    CHECK(r->head_len > 0 && r->head_len <= len && r->head_len <= max_head);
    CHECK(data[r->head_len - 1] == '\n');
    for (size_t i = 0; i < ARRAY_SIZE(all); i++)
        CHECK((uint64_t) all[i]->off + all[i]->len <= r->head_len);
    CHECK(r->method == HTTP_GET || r->method == HTTP_HEAD
          || r->method == HTTP_POST || r->method == HTTP_OPTIONS);
    if (r->target.len == 1 && data[r->target.off] == '*')
        CHECK(r->method == HTTP_OPTIONS && r->path.len == 1);
    for (size_t i = 0; i < r->host.len; i++) {
        char ch = data[r->host.off + i];
        CHECK(ch != '@' && ch != '/' && ch != ' ' && ch != '\t' && ch != '?'
              && ch != '#' && ch != '\\');
    }
    CHECK(http_method_from(data + r->method_name.off, r->method_name.len)
          == r->method);
    CHECK(r->version == 10 || r->version == 11);
    CHECK(r->version == 10 || r->has_host);
    CHECK(!(r->chunked && r->content_length >= 0));
    CHECK(!r->chunked || r->version == 11);
    CHECK(!r->expect_continue || r->version == 11);
    CHECK(r->content_length >= -1);
    CHECK(r->target.len > 0);
    CHECK(r->path.off >= r->target.off
          && r->path.off + r->path.len <= r->target.off + r->target.len);

    /* the slices feed the other helpers */
    fuzz_decode(data + r->path.off, r->path.len, http_decode_path, true);
    fuzz_decode(data + r->query.off, r->query.len, http_decode_form, false);
    fuzz_range(data + r->range.off, r->range.len);
    fuzz_date(data + r->if_modified_since.off, r->if_modified_since.len);
}

static void
fuzz_request(const uint8_t *raw, size_t len, size_t max_head)
{
    const char *data = (const char *) raw;
    struct http_request once, r;
    size_t ends[3];
    int rc_once, rc;

    rc_once = parse_once(data, len, max_head, &once);
    check_request(data, len, max_head, rc_once, &once);

    /* two and three pieces, cut where the input says */
    ends[0] = len > 0 ? raw[0] % (len + 1) : 0;
    ends[1] = len;
    rc = parse_pieces(data, ends, 2, max_head, &r);
    CHECK(rc == rc_once && (rc != RC_OK || req_same(&once, &r)));

    ends[0] = len / 3;
    ends[1] = len > 1 ? len - (raw[len - 1] % (len - ends[0] + 1)) : len;
    if (ends[1] < ends[0])
        ends[1] = ends[0];
    ends[2] = len;
    rc = parse_pieces(data, ends, 3, max_head, &r);
    CHECK(rc == rc_once && (rc != RC_OK || req_same(&once, &r)));

    if (len <= FUZZ_BYTEWISE_MAX) {
        struct http_parser p;
        rc = RC_AGAIN;
        http_parser_init(&p, &r);
        for (size_t n = 1; n <= len && rc == RC_AGAIN; n++) {
            char *buf = fuzz_dup(data, n);
            rc = http_parse_request(&p, &r, buf, n, max_head);
            free(buf);
        }
        CHECK(rc == rc_once && (rc != RC_OK || req_same(&once, &r)));
    }
}

/* ---- Chunked bodies ---- */

struct chunk_run {
    int    rc;
    size_t consumed;
    size_t produced;
    char  *out;             /* LEN + 1 bytes */
};

/* Decode DATA in two pieces, the first CUT bytes then the rest of what was
 * not consumed. INPLACE decodes over a copy of the input itself. */
static void
chunk_run(const char *data, size_t len, size_t cut, bool inplace,
          struct chunk_run *res)
{
    struct http_chunked c;
    size_t pos = 0, o = 0, ends[2] = { cut, len };

    res->rc = RC_AGAIN;
    memcpy(res->out, data, len);
    http_chunked_init(&c);
    for (size_t k = 0; k < 2 && res->rc == RC_AGAIN; k++) {
        size_t n, n_in = (size_t) -1, n_out = (size_t) -1;
        char *piece;

        if (ends[k] < pos)
            continue;
        n = ends[k] - pos;
        if (inplace) {
            res->rc = http_chunked_decode(&c, res->out + o, res->out + pos,
                                          n, &n_in, &n_out, FUZZ_MAX_BODY);
        } else {
            piece = fuzz_dup(data + pos, n);
            res->rc = http_chunked_decode(&c, res->out + o, piece, n, &n_in,
                                          &n_out, FUZZ_MAX_BODY);
            free(piece);
        }
        CHECK(res->rc == RC_OK || res->rc == RC_AGAIN || res->rc == 400
              || res->rc == 413);
        if (res->rc != RC_OK && res->rc != RC_AGAIN)
            break;
        CHECK(n_in <= n && n_out <= n_in);
        pos += n_in;
        o += n_out;
        CHECK(c.total == o);
        CHECK(c.total <= FUZZ_MAX_BODY);
    }
    res->consumed = pos;
    res->produced = o;
}

static void
fuzz_chunked(const uint8_t *raw, size_t len)
{
    const char *data = (const char *) raw;
    struct chunk_run a, b;
    size_t cut = len > 0 ? raw[len / 2] % (len + 1) : 0;

    a.out = malloc(len + 1);
    b.out = malloc(len + 1);
    if (a.out == NULL || b.out == NULL)
        abort();

    chunk_run(data, len, len, false, &a);

    chunk_run(data, len, cut, false, &b);
    CHECK(b.rc == a.rc);
    if (a.rc == RC_OK || a.rc == RC_AGAIN)
        CHECK(b.consumed == a.consumed && b.produced == a.produced
              && memcmp(a.out, b.out, a.produced) == 0);

    chunk_run(data, len, cut, true, &b);
    CHECK(b.rc == a.rc);
    if (a.rc == RC_OK || a.rc == RC_AGAIN)
        CHECK(b.consumed == a.consumed && b.produced == a.produced
              && memcmp(a.out, b.out, a.produced) == 0);

    free(a.out);
    free(b.out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy;

    if (size > FUZZ_MAX_LEN)
        return 0;

    fuzz_request(data, size, 256);     /* a small max_head: 414/431 reachable */
    fuzz_request(data, size, 40);
    fuzz_chunked(data, size);

    copy = fuzz_dup((const char *) data, size);
    fuzz_range(copy, size);
    fuzz_decode(copy, size, http_decode_path, true);
    fuzz_decode(copy, size, http_decode_form, false);
    fuzz_date(copy, size);
    free(copy);
    return 0;
}
