/* static_cond.c - what a static answer depends on besides the file (see
 * static_file.h): the encoding a client accepts (Accept-Encoding with
 * qvalues) and the preconditions of RFC 9110 13 (If-Match,
 * If-Unmodified-Since, If-None-Match, If-Modified-Since, If-Range). Pure:
 * no I/O. Worker only.
 * SPDX-License-Identifier: MIT */
#include "static_file.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "defs.h"
#include "http_parse.h"

/* ---- Content negotiation ---- */

/* A qvalue (RFC 9110 12.4.2: "0" ["." 0-3 digits] or "1" ["." 0-3 zeros])
 * in thousandths, or -1 when malformed. */
static int
static_qvalue(const char *s, size_t len)
{
    int q, scale = 100;

    if (len == 0 || (s[0] != '0' && s[0] != '1'))
        return -1;
    q = (s[0] - '0') * 1000;
    if (len == 1)
        return q;
    if (s[1] != '.' || len > 5)
        return -1;
    for (size_t i = 2; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        q += (s[i] - '0') * scale;
        scale /= 10;
    }
    return q > 1000 ? -1 : q;
}

static inline bool
static_is_blank(char ch)
{
    return ch == ' ' || ch == '\t';
}

enum static_enc
static_pick_encoding(const char *v, size_t len, unsigned avail)
{
    /* q in thousandths; -1: not named */
    int q_id = -1, q_gzip = -1, q_br = -1, q_star = -1, best_q;
    enum static_enc best;
    size_t i = 0;

    if (avail == 0 || len == 0)
        return STATIC_ENC_IDENTITY;
    while (i < len) {
        size_t ts, tl;
        int q = 1000;
        bool bad = false;

        while (i < len && (static_is_blank(v[i]) || v[i] == ','))
            i++;
        ts = i;
        while (i < len && v[i] != ',' && v[i] != ';' && !static_is_blank(v[i]))
            i++;
        tl = i - ts;
        /* parameters: OWS ";" OWS name "=" value; only q counts */
        while (i < len && v[i] != ',') {
            size_t ps, pe;

            while (i < len && static_is_blank(v[i]))
                i++;
            if (i == len || v[i] == ',')
                break;
            if (v[i] != ';') {
                bad = true;
                break;
            }
            i++;
            while (i < len && static_is_blank(v[i]))
                i++;
            ps = i;
            while (i < len && v[i] != ',' && v[i] != ';')
                i++;
            pe = i;
            while (pe > ps && static_is_blank(v[pe - 1]))
                pe--;
            if (pe - ps >= 2 && (v[ps] == 'q' || v[ps] == 'Q') && v[ps + 1] == '=') {
                q = static_qvalue(v + ps + 2, pe - ps - 2);
                if (q < 0)
                    bad = true;
            }
        }
        while (i < len && v[i] != ',')
            i++;
        if (bad || tl == 0)
            continue;
        if (tl == 8 && strncasecmp(v + ts, "identity", 8) == 0)
            q_id = q;
        else if ((tl == 4 && strncasecmp(v + ts, "gzip", 4) == 0)
                 || (tl == 6 && strncasecmp(v + ts, "x-gzip", 6) == 0))
            q_gzip = q;
        else if (tl == 2 && strncasecmp(v + ts, "br", 2) == 0)
            q_br = q;
        else if (tl == 1 && v[ts] == '*')
            q_star = q;
    }
    /* not named: "*" decides; without it a coding is not acceptable, and
     * identity is, but after everything else (RFC 9110 12.5.3) */
    if (q_gzip < 0)
        q_gzip = q_star >= 0 ? q_star : 0;
    if (q_br < 0)
        q_br = q_star >= 0 ? q_star : 0;
    if (q_id < 0)
        q_id = q_star >= 0 ? q_star : 1;

    best = STATIC_ENC_IDENTITY;
    best_q = q_id;
    if ((avail & STATIC_HAS(STATIC_ENC_GZIP)) && q_gzip > 0 && q_gzip >= best_q) {
        best = STATIC_ENC_GZIP;
        best_q = q_gzip;
    }
    if ((avail & STATIC_HAS(STATIC_ENC_BR)) && q_br > 0 && q_br >= best_q)
        best = STATIC_ENC_BR;
    return best;
}

/* ---- Preconditions ---- */

/* Does the entity-tag list V[0, LEN) match ETAG? "*" matches any current
 * representation. STRONG: weak tags (W/"...") never match (RFC 9110
 * 8.8.3.2); else they match their opaque tag. */
static bool
static_etag_match(const char *v, size_t len, const char *etag, bool strong)
{
    size_t el = strlen(etag), i = 0;

    while (i < len) {
        bool weak = false;
        size_t start;

        while (i < len && (static_is_blank(v[i]) || v[i] == ','))
            i++;
        if (i == len)
            break;
        if (v[i] == '*')
            return true;
        if (i + 2 <= len && v[i] == 'W' && v[i + 1] == '/') {
            weak = true;
            i += 2;
        }
        start = i;
        if (v[i] == '"') {
            i++;
            while (i < len && v[i] != '"')
                i++;
            if (i < len) {
                i++;
                if (i - start == el && memcmp(v + start, etag, el) == 0
                    && !(strong && weak))
                    return true;
            }
        }
        while (i < len && v[i] != ',')
            i++;                /* to the next element */
    }
    return false;
}

/* If-Range: a strong match on the ETag, or exactly the Last-Modified date. */
static bool
static_if_range_match(const char *v, size_t len, const char *etag,
                      time_t mtime)
{
    time_t t;

    if (v[0] == '"')
        return len == strlen(etag) && memcmp(v, etag, len) == 0;
    if (len >= 2 && v[0] == 'W' && v[1] == '/')
        return false;
    return http_parse_date(v, len, &t) == RC_OK && t == mtime;
}

int
static_preconditions(const struct http_request *r, const char *data,
                     const char *etag, time_t mtime, bool *range_ok)
{
    time_t t;

    *range_ok = true;
    if (r->if_match.len > 0) {
        if (!static_etag_match(data + r->if_match.off, r->if_match.len, etag,
                               true))
            return STATIC_PRECONDITION_FAIL;
    } else if (r->if_unmodified_since.len > 0
               && http_parse_date(data + r->if_unmodified_since.off,
                                  r->if_unmodified_since.len, &t) == RC_OK
               && mtime > t) {
        return STATIC_PRECONDITION_FAIL;
    }
    if (r->if_none_match.len > 0) {
        if (static_etag_match(data + r->if_none_match.off,
                              r->if_none_match.len, etag, false))
            return STATIC_NOT_MODIFIED;
    } else if (r->if_modified_since.len > 0
               && http_parse_date(data + r->if_modified_since.off,
                                  r->if_modified_since.len, &t) == RC_OK
               && mtime <= t) {
        return STATIC_NOT_MODIFIED;
    }
    if (r->if_range.len > 0)
        *range_ok = static_if_range_match(data + r->if_range.off,
                                          r->if_range.len, etag, mtime);
    return 0;
}
