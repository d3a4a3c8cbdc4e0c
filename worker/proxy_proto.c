/* proxy_proto.c - PROXY protocol v1/v2 header parser (see proxy_proto.h;
 * the format is HAProxy's doc/proxy-protocol.txt). Stateless: each call
 * looks at all bytes so far, which is cheap since a header is at most
 * PROXY_PROTO_V1_MAX or PROXY_PROTO_V2_FIXED + PROXY_PROTO_V2_BODY_MAX
 * bytes, and makes every split of the same bytes give the same answer.
 * Anything that does not match the protocol exactly is refused.
 * SPDX-License-Identifier: MIT */
#include "proxy_proto.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "defs.h"

static const char proxy_v1_sig[] = "PROXY ";
#define PROXY_V1_SIG_LEN (sizeof(proxy_v1_sig) - 1)

static const uint8_t proxy_v2_sig[12] = {
    0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A
};

/* v2 commands and address families (high nibble of byte 14) */
enum { PROXY_V2_LOCAL = 0, PROXY_V2_PROXY = 1 };
enum { PROXY_V2_UNSPEC = 0, PROXY_V2_INET = 1, PROXY_V2_INET6 = 2,
       PROXY_V2_UNIX = 3 };

static int
proxy_fail(const char **why, const char *reason)
{
    if (why != NULL)
        *why = reason;
    return RC_ERR;
}

/* ---- Version 1: one line of text ---- */

/* A port: decimal, 0 to 65535, no leading zero. */
static bool
proxy_v1_port(const char *s, size_t len, uint16_t *out)
{
    uint32_t v = 0;

    if (len == 0 || len > 5 || (len > 1 && s[0] == '0'))
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint32_t) (s[i] - '0');
    }
    if (v > 65535)
        return false;
    *out = (uint16_t) v;
    return true;
}

/* An address of FAMILY in its canonical text form into OUT (16 bytes). */
static bool
proxy_v1_addr(const char *s, size_t len, int family, uint8_t *out)
{
    char tmp[PROXY_PROTO_ADDR_MAX];

    if (len == 0 || len >= sizeof(tmp))
        return false;
    if (family == AF_INET) {
        /* inet_pton() takes dotted quads only; the protocol also forbids
         * leading zeroes (no octal confusion), which we check ourselves */
        for (size_t i = 0; i + 1 < len; i++) {
            bool starts = i == 0 || s[i - 1] == '.';
            if (starts && s[i] == '0' && s[i + 1] >= '0' && s[i + 1] <= '9')
                return false;
        }
    }
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    return inet_pton(family, tmp, out) == 1;
}

static int
proxy_parse_v1(const char *data, size_t len, struct proxy_proto_hdr *h,
               const char **why)
{
    /* the CR is at most at index 105: 107 bytes with the LF */
    size_t scan = len < PROXY_PROTO_V1_MAX - 1 ? len : PROXY_PROTO_V1_MAX - 1;
    size_t end = 0, pos, ntok = 0;
    const char *tok[6];
    size_t tlen[6];
    int family;

    if (memcmp(data, proxy_v1_sig,
               len < PROXY_V1_SIG_LEN ? len : PROXY_V1_SIG_LEN) != 0)
        return proxy_fail(why, "no PROXY signature");
    /* printable ASCII up to the CRLF; a lone CR or LF is not an end */
    for (pos = PROXY_V1_SIG_LEN; pos < scan; pos++) {
        unsigned char ch = (unsigned char) data[pos];
        if (ch == '\r') {
            if (pos + 1 == len)
                break;              /* the LF may be on its way */
            if (data[pos + 1] != '\n')
                return proxy_fail(why, "v1 line with a CR but no CRLF");
            end = pos;
            break;
        }
        if (ch < 0x20 || ch > 0x7e)
            return proxy_fail(why, "v1 line with a control byte");
    }
    if (end == 0) {
        if (pos == scan && len >= PROXY_PROTO_V1_MAX - 1)
            return proxy_fail(why, "v1 line without CRLF in 107 bytes");
        return RC_AGAIN;
    }

    /* split DATA[6, end) at single spaces */
    pos = PROXY_V1_SIG_LEN;
    while (pos <= end && ntok < ARRAY_SIZE(tok)) {
        const char *sp = memchr(data + pos, ' ', end - pos);
        size_t stop = sp != NULL ? (size_t) (sp - data) : end;
        tok[ntok] = data + pos;
        tlen[ntok] = stop - pos;
        ntok++;
        pos = stop + 1;
    }

    memset(h, 0, sizeof(*h));
    h->version = 1;
    h->len = (uint32_t) (end + 2);
    if (tlen[0] == 7 && memcmp(tok[0], "UNKNOWN", 7) == 0)
        return RC_OK;               /* the rest of the line is ignored */
    if (tlen[0] == 4 && memcmp(tok[0], "TCP4", 4) == 0)
        family = AF_INET;
    else if (tlen[0] == 4 && memcmp(tok[0], "TCP6", 4) == 0)
        family = AF_INET6;
    else
        return proxy_fail(why, "v1 protocol is not TCP4, TCP6 or UNKNOWN");
    if (ntok != 5 || pos <= end)
        return proxy_fail(why, "v1 line does not have exactly 4 fields");
    {
        uint8_t dst[16];
        uint16_t dport;
        if (!proxy_v1_addr(tok[1], tlen[1], family, h->src))
            return proxy_fail(why, "bad v1 source address");
        if (!proxy_v1_addr(tok[2], tlen[2], family, dst))
            return proxy_fail(why, "bad v1 destination address");
        if (!proxy_v1_port(tok[3], tlen[3], &h->src_port)
            || !proxy_v1_port(tok[4], tlen[4], &dport))
            return proxy_fail(why, "bad v1 port");
    }
    h->has_addr = true;
    h->family = (uint8_t) family;
    return RC_OK;
}

/* ---- Version 2: binary ---- */

static int
proxy_parse_v2(const char *data, size_t len, struct proxy_proto_hdr *h,
               const char **why)
{
    const uint8_t *p = (const uint8_t *) data;
    size_t body, addr_len = 0;
    unsigned cmd, fam, proto;

    if (memcmp(p, proxy_v2_sig,
               len < sizeof(proxy_v2_sig) ? len : sizeof(proxy_v2_sig)) != 0)
        return proxy_fail(why, "no PROXY signature");
    if (len <= 12)
        return RC_AGAIN;
    cmd = p[12] & 0x0f;
    if ((p[12] >> 4) != 2)
        return proxy_fail(why, "v2 header of another version");
    if (cmd != PROXY_V2_LOCAL && cmd != PROXY_V2_PROXY)
        return proxy_fail(why, "v2 command is neither LOCAL nor PROXY");
    if (len <= 13)
        return RC_AGAIN;
    fam = p[13] >> 4;
    proto = p[13] & 0x0f;
    if (fam > PROXY_V2_UNIX || proto > 2)
        return proxy_fail(why, "v2 unknown address family or protocol");
    if (len < PROXY_PROTO_V2_FIXED)
        return RC_AGAIN;
    body = (size_t) p[14] << 8 | p[15];
    if (body > PROXY_PROTO_V2_BODY_MAX)
        return proxy_fail(why, "v2 header larger than we take");
    if (cmd == PROXY_V2_PROXY) {
        static const size_t need[] = { 0, 12, 36, 216 };
        addr_len = need[fam];
        if (body < addr_len)
            return proxy_fail(why, "v2 address block too short");
    }
    if (len < PROXY_PROTO_V2_FIXED + body)
        return RC_AGAIN;

    /* what follows the addresses must be whole TLVs (type, 16-bit length,
     * value); their contents do not concern us. Where the address length
     * is not known (LOCAL) the block is skipped as a whole. */
    if (cmd == PROXY_V2_PROXY) {
        size_t off = addr_len;
        while (off < body) {
            const uint8_t *t = p + PROXY_PROTO_V2_FIXED + off;
            if (body - off < 3)
                return proxy_fail(why, "v2 truncated TLV");
            off += 3 + ((size_t) t[1] << 8 | t[2]);
            if (off > body)
                return proxy_fail(why, "v2 TLV overruns the header");
        }
    }

    memset(h, 0, sizeof(*h));
    h->version = 2;
    h->len = (uint32_t) (PROXY_PROTO_V2_FIXED + body);
    h->local = cmd == PROXY_V2_LOCAL;
    if (cmd == PROXY_V2_PROXY && proto != 0
        && (fam == PROXY_V2_INET || fam == PROXY_V2_INET6)) {
        const uint8_t *a = p + PROXY_PROTO_V2_FIXED;
        size_t alen = fam == PROXY_V2_INET ? 4 : 16;
        h->has_addr = true;
        h->family = fam == PROXY_V2_INET ? AF_INET : AF_INET6;
        memcpy(h->src, a, alen);
        h->src_port = (uint16_t) (a[2 * alen] << 8 | a[2 * alen + 1]);
    }
    return RC_OK;
}

int
proxy_proto_parse(const char *data, size_t len, struct proxy_proto_hdr *h,
                  const char **why)
{
    if (why != NULL)
        *why = NULL;
    if (len == 0)
        return RC_AGAIN;
    if (data[0] == 'P')
        return proxy_parse_v1(data, len, h, why);
    if (data[0] == '\r')
        return proxy_parse_v2(data, len, h, why);
    return proxy_fail(why, "no PROXY signature");
}

int
proxy_proto_addr_text(const struct proxy_proto_hdr *h, char *out, size_t cap)
{
    if (!h->has_addr || cap < PROXY_PROTO_ADDR_MAX)
        return RC_ERR;
    if (inet_ntop(h->family, h->src, out, (socklen_t) cap) == NULL)
        return RC_ERR;
    return RC_OK;
}
