/* http_parse.c - incremental HTTP/1.x request parser (see http_parse.h).
 * Strict where RFC 9112 says MUST: one SP between request-line parts, no
 * whitespace before a header colon, no obs-fold, no bare CR, no control
 * bytes, one Host, one Content-Length value, not both Content-Length and
 * Transfer-Encoding. A lone LF ends a line (RFC 9112 section 2.2 allows it).
 * SPDX-License-Identifier: MIT */
#include "http_parse.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

#include "defs.h"

#define HTTP_MAX_EMPTY_LINES   4
#define HTTP_CONN_CLOSE        1
#define HTTP_CONN_KEEPALIVE    2

/* RFC 9110 tchar */
static const uint8_t http_tchar[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1,
    ['*'] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1,
    ['`'] = 1, ['|'] = 1, ['~'] = 1,
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
    ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
    ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1,
    ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
    ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
    ['Y'] = 1, ['Z'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
    ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1,
    ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
    ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
    ['y'] = 1, ['z'] = 1,
};

/* Byte classes, from http_tchar and the RFC sets below, built once before
 * main(): one table lookup per byte where the parser checks several sets. */
enum {
    HTTP_CC_TCHAR      = 1,     /* RFC 9110 tchar */
    HTTP_CC_TARGET_BAD = 2,     /* never in a request target: controls, SP
                                 * excepted (it ends the target), '#' (a
                                 * fragment is not sent), what RFC 3986
                                 * excludes ("<>\^`{|}) and bytes >= 0x80 */
    HTTP_CC_VALUE_BAD  = 4,     /* never in a field value: controls but HTAB */
    HTTP_CC_REGNAME    = 8,     /* RFC 3986 unreserved / sub-delims */
    HTTP_CC_DECODE_STOP = 16,   /* what http_decode() looks at: '%', '+'
                                 * and controls; the rest is copied */
};

static uint8_t http_cc[256];

__attribute__((constructor)) static void
http_cc_build(void)
{
    static const char target_bad[] = "#\"<>\\^`{|}";
    static const char regname_extra[] = "-._~!$&'()*+,;=";

    for (unsigned ch = 0; ch < 256; ch++) {
        bool ctl = ch < 0x20 || ch == 0x7f;
        uint8_t c = 0;

        if (http_tchar[ch])
            c |= HTTP_CC_TCHAR;
        if (ctl || ch >= 0x80 || (ch != 0 && strchr(target_bad, (int) ch)))
            c |= HTTP_CC_TARGET_BAD;
        if (ctl && ch != '\t')
            c |= HTTP_CC_VALUE_BAD;
        if (ctl || ch == '%' || ch == '+')
            c |= HTTP_CC_DECODE_STOP;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
            || (ch >= '0' && ch <= '9')
            || (ch != 0 && strchr(regname_extra, (int) ch)))
            c |= HTTP_CC_REGNAME;
        http_cc[ch] = c;
    }
}

static inline struct http_slice
http_slice_make(size_t off, size_t len)
{
    struct http_slice s = { (uint32_t) off, (uint32_t) len };
    return s;
}

void
http_parser_init(struct http_parser *p, struct http_request *r)
{
    memset(p, 0, sizeof(*p));
    memset(r, 0, sizeof(*r));
    r->content_length = -1;
}

int
http_method_from(const char *s, size_t len)
{
    if (len == 3 && memcmp(s, "GET", 3) == 0)
        return HTTP_GET;
    if (len == 4 && memcmp(s, "HEAD", 4) == 0)
        return HTTP_HEAD;
    if (len == 4 && memcmp(s, "POST", 4) == 0)
        return HTTP_POST;
    if (len == 7 && memcmp(s, "OPTIONS", 7) == 0)
        return HTTP_OPTIONS;
    if (len == 7 && memcmp(s, "CONNECT", 7) == 0)
        return HTTP_CONNECT;
    return HTTP_METHOD_NONE;
}

/* ---- Host and authority (RFC 3986 3.2, RFC 9110 4.2) ---- */

/* RFC 3986 unreserved / sub-delims: a reg-name is made of these and
 * pct-encoded bytes. */
static inline bool
http_is_regname_char(unsigned char ch)
{
    return (http_cc[ch] & HTTP_CC_REGNAME) != 0;
}

/* What lies between the brackets of an IP-literal: an IPv6address (as
 * inet_pton() reads it: RFC 4291 text, which is RFC 3986's grammar) or an
 * IPvFuture, "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" ). A zone
 * identifier ("%25eth0", RFC 6874) is refused: RFC 9110 does not take it,
 * and it means nothing outside the sending host. */
static bool
http_ip_literal_valid(const char *s, size_t len)
{
    char tmp[INET6_ADDRSTRLEN];
    struct in6_addr addr;
    size_t i;

    if (len > 0 && (s[0] == 'v' || s[0] == 'V')) {
        for (i = 1; i < len && http_hex((unsigned char) s[i]) >= 0; i++)
            ;
        if (i == 1 || i + 1 >= len || s[i] != '.')
            return false;
        for (i++; i < len; i++) {
            if (!http_is_regname_char((unsigned char) s[i]) && s[i] != ':')
                return false;
        }
        return true;
    }
    if (len == 0 || len >= sizeof(tmp))
        return false;
    for (i = 0; i < len; i++) {
        if (http_hex((unsigned char) s[i]) < 0 && s[i] != ':' && s[i] != '.')
            return false;
    }
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    return inet_pton(AF_INET6, tmp, &addr) == 1;
}

/* Is S[0, LEN) an authority as RFC 9110 takes it in Host, in the target of
 * an absolute-form request and in CONNECT's authority-form: uri-host
 * [":" port] (RFC 3986 3.2.2, 3.2.3), without userinfo (RFC 9110 4.2.4
 * says to treat it as an error)?
 * - host: "[" IP-literal "]", or a reg-name (unreserved, sub-delims,
 *   %XX). An IPv4address is a reg-name too, so "1.2.3.999" passes as a
 *   name (RFC 3986 3.2.2: first match wins). Never empty: RFC 9110 4.2.1
 *   rejects an http URI with an empty host, and "Host: :80" names none.
 * - port: decimal digits, at most 65535 (a larger number names no TCP
 *   port). An empty port after ':' is allowed (RFC 3986 grammar; 6.2.3
 *   reads "a:" as "a") unless NEED_PORT (CONNECT, RFC 9110 9.3.6). */
static bool
http_authority_valid(const char *s, size_t len, bool need_port)
{
    uint32_t port = 0;
    size_t i = 0;

    if (len > 0 && s[0] == '[') {
        const char *end = memchr(s, ']', len);
        if (end == NULL || !http_ip_literal_valid(s + 1, (size_t) (end - s) - 1))
            return false;
        i = (size_t) (end - s) + 1;
    } else {
        while (i < len && s[i] != ':') {
            unsigned char ch = (unsigned char) s[i];
            if (http_cc[ch] & HTTP_CC_REGNAME) {
                /* the usual case: a run of plain name bytes */
                do
                    i++;
                while (i < len && (http_cc[(unsigned char) s[i]] & HTTP_CC_REGNAME));
                continue;
            }
            if (ch != '%' || i + 2 >= len || http_hex((unsigned char) s[i + 1]) < 0
                || http_hex((unsigned char) s[i + 2]) < 0)
                return false;
            i += 3;
        }
        if (i == 0)
            return false;
    }
    if (i == len)
        return !need_port;
    if (s[i] != ':')
        return false;
    if (++i == len)
        return !need_port;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        port = port * 10 + (uint32_t) (s[i] - '0');
        if (port > 65535)
            return false;
    }
    return true;
}

/* Check the target against the form METHOD takes (RFC 9112 3.2) and split
 * it into path and query: origin-form and absolute-form for every method
 * but CONNECT, which takes only authority-form (host:port), and the
 * asterisk-form "*" for OPTIONS alone (its path is that "*"). */
static int
http_parse_target(struct http_request *r, int method, const char *data,
                  size_t off, size_t len)
{
    const char *t = data + off;
    size_t i = 0, path_start;

    /* the request line has refused '#' and every other byte that cannot
     * be in a target (HTTP_CC_TARGET_BAD) */
    if (method == HTTP_CONNECT)
        return http_authority_valid(t, len, true) ? RC_OK : 400;
    if (len == 1 && t[0] == '*') {
        if (method != HTTP_OPTIONS)
            return 400;
        r->path = http_slice_make(off, 1);
        return RC_OK;
    }
    if (t[0] != '/') {
        /* absolute-form: scheme "://" authority [path-abempty] [? query] */
        size_t auth;
        if (len > 7 && strncasecmp(t, "http://", 7) == 0)
            i = 7;
        else if (len > 8 && strncasecmp(t, "https://", 8) == 0)
            i = 8;
        else
            return 400;   /* authority-form: CONNECT only */
        auth = i;
        while (i < len && t[i] != '/' && t[i] != '?')
            i++;
        if (!http_authority_valid(t + auth, i - auth, false))
            return 400;
        if (i == len || t[i] == '?') {
            /* empty path means "/"; keep an empty slice, routed as "/" */
            r->path = http_slice_make(off + i, 0);
            if (i < len)
                r->query = http_slice_make(off + i + 1, len - i - 1);
            return RC_OK;
        }
    }
    path_start = i;
    while (i < len && t[i] != '?')
        i++;
    r->path = http_slice_make(off + path_start, i - path_start);
    if (i < len)
        r->query = http_slice_make(off + i + 1, len - i - 1);
    return RC_OK;
}

static int
http_parse_request_line(struct http_request *r, const char *data, size_t off,
                        size_t len)
{
    const unsigned char *l = (const unsigned char *) data + off;
    size_t sp1, sp2;
    const unsigned char *v;
    int rc;

    /* one pass: a method of tchars (no control byte is one), a target
     * without the bytes a target never has (controls among them), and the
     * version, which is checked byte by byte below */
    for (sp1 = 0; sp1 < len && l[sp1] != ' '; sp1++) {
        if (!(http_cc[l[sp1]] & HTTP_CC_TCHAR))
            return 400;
    }
    if (sp1 == 0 || sp1 == len)
        return 400;
    for (sp2 = sp1 + 1; sp2 < len && l[sp2] != ' '; sp2++) {
        if (http_cc[l[sp2]] & HTTP_CC_TARGET_BAD)
            return 400;
    }
    if (sp2 == sp1 + 1 || sp2 == len)
        return 400;
    /* version: exactly "HTTP/D.D" and nothing after it */
    v = l + sp2 + 1;
    if (len - sp2 - 1 != 8 || memcmp(v, "HTTP/", 5) != 0
        || v[5] < '0' || v[5] > '9' || v[6] != '.' || v[7] < '0' || v[7] > '9')
        return 400;

    r->method_name = http_slice_make(off, sp1);
    r->method = (uint8_t) http_method_from(data + off, sp1);
    r->target = http_slice_make(off + sp1 + 1, sp2 - sp1 - 1);
    rc = http_parse_target(r, r->method, data, r->target.off, r->target.len);
    if (rc != RC_OK)
        return rc;

    /* HTTP/1.2 to 1.9 are served as the highest 1.x we implement (RFC 9110
     * 2.5); other majors are not HTTP/1 at all */
    if (v[5] != '1')
        return 505;
    r->version = v[7] == '0' ? 10 : 11;

    /* CONNECT would make us a tunnel: a well-formed one is not implemented */
    if (r->method == HTTP_METHOD_NONE || r->method == HTTP_CONNECT)
        return 501;
    return RC_OK;
}

static bool
http_name_is(const char *name, size_t nlen, const char *lit, size_t llen)
{
    return nlen == llen && strncasecmp(name, lit, llen) == 0;
}

/* Does the comma-separated list VALUE contain TOKEN (case-insensitive)? */
static bool
http_list_has(const char *value, size_t len, const char *token)
{
    size_t tl = strlen(token), i = 0;

    while (i < len) {
        size_t start, end;
        while (i < len && (value[i] == ' ' || value[i] == '\t' || value[i] == ','))
            i++;
        start = i;
        while (i < len && value[i] != ',')
            i++;
        end = i;
        while (end > start && (value[end - 1] == ' ' || value[end - 1] == '\t'))
            end--;
        if (end - start == tl && strncasecmp(value + start, token, tl) == 0)
            return true;
    }
    return false;
}

/* Is the last element of the comma-separated list VALUE TOKEN
 * (case-insensitive)? The nearest proxy appends its own, so that is the
 * one a chain of them agrees on. */
static bool
http_list_last_is(const char *value, size_t len, const char *token)
{
    size_t tl = strlen(token), end = len, start;

    while (end > 0 && (value[end - 1] == ' ' || value[end - 1] == '\t'))
        end--;
    start = end;
    while (start > 0 && value[start - 1] != ',')
        start--;
    while (start < end && (value[start] == ' ' || value[start] == '\t'))
        start++;
    return end - start == tl && strncasecmp(value + start, token, tl) == 0;
}

static int
http_parse_content_length(struct http_request *r, const char *v, size_t len)
{
    int64_t n = 0;

    if (len == 0 || len > 18)
        return 400;
    for (size_t i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9')
            return 400;
        n = n * 10 + (v[i] - '0');
    }
    if (r->content_length >= 0 && r->content_length != n)
        return 400;
    r->content_length = n;
    return RC_OK;
}

static int
http_parse_transfer_encoding(struct http_parser *p, struct http_request *r,
                             const char *v, size_t len)
{
    if (r->version == 10)
        return 400;     /* RFC 9112 6.1: faulty framing in HTTP/1.0 */
    if (r->chunked || p->te_seen)
        return 400;     /* chunked must be last and only once */
    p->te_seen = true;
    if (len == 7 && strncasecmp(v, "chunked", 7) == 0) {
        r->chunked = true;
        return RC_OK;
    }
    {
        /* a list: chunked may only be the final coding */
        size_t end = len, start;
        while (end > 0 && (v[end - 1] == ' ' || v[end - 1] == '\t'))
            end--;
        start = end;
        while (start > 0 && v[start - 1] != ',')
            start--;
        while (start < end && (v[start] == ' ' || v[start] == '\t'))
            start++;
        if (end - start == 7 && strncasecmp(v + start, "chunked", 7) == 0)
            return start > 0 && http_list_has(v, start - 1, "chunked") ? 400 : 501;
        if (http_list_has(v, len, "chunked"))
            return 400;     /* chunked, but not as the final coding */
    }
    return 501;             /* gzip, compress, ...: not implemented */
}

static int
http_parse_header_line(struct http_parser *p, struct http_request *r,
                       const char *data, size_t off, size_t len)
{
    const unsigned char *l = (const unsigned char *) data + off;
    const char *name = data + off, *value;
    size_t colon, vs, ve, nlen, vlen;

    if (l[0] == ' ' || l[0] == '\t')
        return 400;     /* obs-fold */
    for (colon = 0; colon < len && l[colon] != ':'; colon++) {
        if (!(http_cc[l[colon]] & HTTP_CC_TCHAR))
            return 400; /* includes whitespace before the colon */
    }
    if (colon == 0 || colon == len)
        return 400;
    for (vs = colon + 1; vs < len; vs++) {
        if (http_cc[l[vs]] & HTTP_CC_VALUE_BAD)
            return 400;
    }
    vs = colon + 1;
    while (vs < len && (l[vs] == ' ' || l[vs] == '\t'))
        vs++;
    ve = len;
    while (ve > vs && (l[ve - 1] == ' ' || l[ve - 1] == '\t'))
        ve--;
    nlen = colon;
    value = data + off + vs;
    vlen = ve - vs;

#define SET_ONCE(field)                                                     \
    do {                                                                    \
        if (r->field.len == 0 && r->field.off == 0)                         \
            r->field = http_slice_make(off + vs, vlen);                     \
    } while (0)

    switch (nlen) {
    case 4:
        if (http_name_is(name, nlen, "Host", 4)) {
            if (r->has_host)
                return 400;
            /* empty is what a client sends for a target without an
             * authority (RFC 9112 3.2); anything else must be one */
            if (vlen > 0 && !http_authority_valid(value, vlen, false))
                return 400;
            r->has_host = true;
            r->host = http_slice_make(off + vs, vlen);
        }
        break;
    case 5:
        if (http_name_is(name, nlen, "Range", 5))
            SET_ONCE(range);
        break;
    case 6:
        if (http_name_is(name, nlen, "Cookie", 6))
            SET_ONCE(cookie);
        else if (http_name_is(name, nlen, "Origin", 6))
            SET_ONCE(origin);
        else if (http_name_is(name, nlen, "Expect", 6)) {
            if (vlen == 12 && strncasecmp(value, "100-continue", 12) == 0)
                r->expect_continue = true;
            else
                return 417;
        }
        break;
    case 7:
        if (http_name_is(name, nlen, "Referer", 7))
            SET_ONCE(referer);
        break;
    case 8:
        if (http_name_is(name, nlen, "If-Range", 8))
            SET_ONCE(if_range);
        else if (http_name_is(name, nlen, "If-Match", 8))
            SET_ONCE(if_match);
        break;
    case 10:
        if (http_name_is(name, nlen, "Connection", 10)) {
            if (http_list_has(value, vlen, "close"))
                p->connection |= HTTP_CONN_CLOSE;
            if (http_list_has(value, vlen, "keep-alive"))
                p->connection |= HTTP_CONN_KEEPALIVE;
        } else if (http_name_is(name, nlen, "User-Agent", 10))
            SET_ONCE(user_agent);
        break;
    case 12:
        if (http_name_is(name, nlen, "Content-Type", 12))
            SET_ONCE(content_type);
        break;
    case 13:
        if (http_name_is(name, nlen, "If-None-Match", 13))
            SET_ONCE(if_none_match);
        break;
    case 14:
        if (http_name_is(name, nlen, "Content-Length", 14))
            return http_parse_content_length(r, value, vlen);
        break;
    case 15:
        if (http_name_is(name, nlen, "Accept-Encoding", 15))
            SET_ONCE(accept_encoding);
        else if (http_name_is(name, nlen, "X-Forwarded-For", 15)) {
            /* recorded only: whether to believe it depends on the peer
             * (trusted_proxies), and later lines are found from here */
            SET_ONCE(x_forwarded_for);
            if (r->xff_lines < UINT8_MAX)
                r->xff_lines++;
        }
        break;
    case 17:
        if (http_name_is(name, nlen, "If-Modified-Since", 17))
            SET_ONCE(if_modified_since);
        else if (http_name_is(name, nlen, "Transfer-Encoding", 17))
            return http_parse_transfer_encoding(p, r, value, vlen);
        else if (http_name_is(name, nlen, "X-Forwarded-Proto", 17))
            r->xfp_https = http_list_last_is(value, vlen, "https");
        break;
    case 19:
        if (http_name_is(name, nlen, "If-Unmodified-Since", 19))
            SET_ONCE(if_unmodified_since);
        break;
    }
#undef SET_ONCE
    return RC_OK;
}

/* The empty line: whole-head checks. */
static int
http_parse_head_end(struct http_parser *p, struct http_request *r, size_t end)
{
    if (r->version == 11 && !r->has_host)
        return 400;
    if (r->chunked && r->content_length >= 0)
        return 400;
    if (r->version == 11)
        r->keepalive = !(p->connection & HTTP_CONN_CLOSE);
    else
        r->keepalive = (p->connection & HTTP_CONN_KEEPALIVE)
                       && !(p->connection & HTTP_CONN_CLOSE);
    if (r->version == 10)
        r->expect_continue = false;     /* RFC 9110 10.1.1 */
    r->head_len = (uint32_t) end;
    p->state = HTTP_PARSE_DONE;
    return RC_OK;
}

int
http_parse_request(struct http_parser *p, struct http_request *r,
                   const char *data, size_t len, size_t max_head)
{
    while (p->state != HTTP_PARSE_DONE) {
        size_t start = p->scan > p->pos ? p->scan : p->pos;
        const char *nl = start < len ? memchr(data + start, '\n', len - start)
                                     : NULL;
        size_t line_off, line_len, next;
        int rc;

        if (nl == NULL) {
            p->scan = (uint32_t) len;
            if (len > max_head)
                return p->state == HTTP_PARSE_REQUEST_LINE ? 414 : 431;
            return RC_AGAIN;
        }
        next = (size_t) (nl - data) + 1;
        if (next > max_head)
            return p->state == HTTP_PARSE_REQUEST_LINE ? 414 : 431;
        line_off = p->pos;
        line_len = next - 1 - line_off;
        if (line_len > 0 && data[line_off + line_len - 1] == '\r')
            line_len--;
        p->pos = p->scan = (uint32_t) next;

        if (p->state == HTTP_PARSE_REQUEST_LINE) {
            if (line_len == 0) {
                if (++p->empty_lines > HTTP_MAX_EMPTY_LINES)
                    return 400;
                continue;
            }
            rc = http_parse_request_line(r, data, line_off, line_len);
            if (rc != RC_OK)
                return rc;
            p->state = HTTP_PARSE_HEADERS;
        } else if (line_len == 0) {
            return http_parse_head_end(p, r, next);
        } else {
            rc = http_parse_header_line(p, r, data, line_off, line_len);
            if (rc != RC_OK)
                return rc;
        }
    }
    return RC_OK;
}

/* ---- Decoding ---- */

/* Percent-decode IN into OUT (CAP bytes with the NUL); '+' becomes a space
 * when PLUS_IS_SPACE (form encoding). Encoded NUL, raw control bytes, bad
 * escapes and output that does not fit are refused. */
static int
http_decode(const char *in, size_t len, char *out, size_t cap,
            bool plus_is_space)
{
    size_t o = 0, i = 0;

    if (cap == 0)
        return RC_ERR;
    while (i < len) {
        size_t run = i;
        unsigned char ch;

        /* a run of bytes that stand for themselves, copied at once */
        while (run < len
               && !(http_cc[(unsigned char) in[run]] & HTTP_CC_DECODE_STOP))
            run++;
        if (run > i) {
            if (o + (run - i) >= cap)
                return RC_ERR;
            memmove(out + o, in + i, run - i);     /* OUT may be IN */
            o += run - i;
            i = run;
            if (i == len)
                break;
        }
        ch = (unsigned char) in[i];
        if (ch == '%') {
            int hi, lo;
            if (i + 2 >= len)
                return RC_ERR;
            hi = http_hex((unsigned char) in[i + 1]);
            lo = http_hex((unsigned char) in[i + 2]);
            if (hi < 0 || lo < 0)
                return RC_ERR;
            ch = (unsigned char) (hi << 4 | lo);
            if (ch == 0)
                return RC_ERR;
            i += 2;
        } else if (ch == '+') {
            if (plus_is_space)
                ch = ' ';
        } else {
            return RC_ERR;      /* a control byte */
        }
        if (o + 1 >= cap)
            return RC_ERR;
        out[o++] = (char) ch;
        i++;
    }
    out[o] = '\0';
    return (int) o;
}

int
http_decode_path(const char *in, size_t len, char *out)
{
    return http_decode(in, len, out, len + 1, false);
}

int
http_decode_form(const char *in, size_t len, char *out)
{
    return http_decode(in, len, out, len + 1, true);
}

int
http_decode_form_cap(const char *in, size_t len, char *out, size_t cap)
{
    return http_decode(in, len, out, cap, true);
}

/* ---- Range, dates ---- */

/* Read decimal digits saturating at INT64_MAX. Returns how many were read. */
static size_t
http_read_num(const char *s, size_t len, int64_t *out)
{
    size_t i = 0;
    int64_t v = 0;

    while (i < len && s[i] >= '0' && s[i] <= '9') {
        int d = s[i] - '0';
        if (v > (INT64_MAX - d) / 10)
            v = INT64_MAX;
        else
            v = v * 10 + d;
        i++;
    }
    *out = v;
    return i;
}

/* One range-spec S[0, LEN) (no blanks around it) against SIZE. Returns
 * RC_OK with the clipped range in *R, RC_DONE when it is not satisfiable
 * (RFC 9110 14.1.1: first-pos past the end, a suffix of 0, an empty
 * representation), RC_ERR when it is not a range-spec. */
static int
http_parse_range_spec(const char *s, size_t len, off_t size,
                      struct http_range *r)
{
    int64_t a, b;
    size_t i, n;

    if (len == 0)
        return RC_ERR;
    if (s[0] == '-') {              /* suffix: the last b bytes */
        n = http_read_num(s + 1, len - 1, &b);
        if (n == 0 || n != len - 1)
            return RC_ERR;
        if (b == 0 || size == 0)
            return RC_DONE;
        r->first = b >= size ? 0 : size - b;
        r->last = size - 1;
        return RC_OK;
    }
    n = http_read_num(s, len, &a);
    if (n == 0 || n == len || s[n] != '-')
        return RC_ERR;
    i = n + 1;
    if (i == len) {
        b = INT64_MAX;              /* "a-": to the end */
    } else {
        n = http_read_num(s + i, len - i, &b);
        if (n != len - i || b < a)
            return RC_ERR;          /* "5-1" is invalid, not unsatisfiable */
    }
    if (a >= size)
        return RC_DONE;
    r->first = a;
    r->last = b >= size ? size - 1 : b;
    return RC_OK;
}

int
http_parse_range_set(const char *s, size_t len, off_t size,
                     struct http_range *out, size_t max)
{
    struct http_range all[HTTP_RANGE_SPECS_MAX];
    size_t n = 0, specs = 0, i = 6, k;

    if (len < 6 || strncasecmp(s, "bytes=", 6) != 0)
        return RC_DONE;
    while (len > i && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (i < len && (s[i] == ' ' || s[i] == '\t'))
        return RC_DONE;             /* no OWS before the first element */
    while (i < len) {
        size_t start, end;
        int rc;

        start = i;
        while (i < len && s[i] != ',')
            i++;
        end = i;
        if (i < len)
            i++;                    /* the comma */
        while (start < end && (s[start] == ' ' || s[start] == '\t'))
            start++;
        while (end > start && (s[end - 1] == ' ' || s[end - 1] == '\t'))
            end--;
        if (start == end)
            continue;               /* an empty list element */
        if (++specs > HTTP_RANGE_SPECS_MAX)
            return RC_DONE;
        rc = http_parse_range_spec(s + start, end - start, size, &all[n]);
        if (rc == RC_ERR)
            return RC_DONE;         /* one bad spec spoils the set */
        if (rc == RC_OK)
            n++;
    }
    if (specs == 0)
        return RC_DONE;
    if (n == 0)
        return 416;

    /* insertion sort by first byte: n is small and often already sorted */
    for (i = 1; i < n; i++) {
        struct http_range t = all[i];
        for (k = i; k > 0 && all[k - 1].first > t.first; k--)
            all[k] = all[k - 1];
        all[k] = t;
    }
    /* coalesce overlapping and adjacent ranges */
    k = 0;
    for (i = 1; i < n; i++) {
        if (all[i].first <= all[k].last + 1) {
            if (all[i].last > all[k].last)
                all[k].last = all[i].last;
        } else {
            all[++k] = all[i];
        }
    }
    n = k + 1;
    if (n > max)
        return RC_DONE;
    memcpy(out, all, n * sizeof(*out));
    return (int) n;
}

int
http_parse_date(const char *s, size_t len, time_t *t)
{
    static const char *const fmts[] = {
        "%a, %d %b %Y %H:%M:%S GMT",    /* IMF-fixdate */
        "%A, %d-%b-%y %H:%M:%S GMT",    /* RFC 850 */
        "%a %b %e %H:%M:%S %Y",         /* asctime */
    };
    char tmp[64];
    struct tm tm;

    if (len == 0 || len >= sizeof(tmp))
        return RC_ERR;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    for (size_t i = 0; i < ARRAY_SIZE(fmts); i++) {
        const char *end;
        memset(&tm, 0, sizeof(tm));
        end = strptime(tmp, fmts[i], &tm);
        if (end != NULL && *end == '\0') {
            *t = timegm(&tm);   /* -1 is a valid time (1969-12-31) */
            return RC_OK;
        }
    }
    return RC_ERR;
}
