/* test_proxy_proto.c - unit tests for worker/proxy_proto.h: one table of
 * { __LINE__, input, rc, fields } (lighttpd style) over PROXY protocol v1
 * and v2 headers. Every case is also fed as each of its prefixes, in an
 * exact-size heap copy (a sanitizer build catches any read past LEN): a
 * valid header must answer RC_AGAIN until its last byte and the same
 * result from then on, whatever follows; an invalid one must stay refused
 * once refused, and a case may say by which byte at the latest.
 * SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "defs.h"
#include "proxy_proto.h"

/* the v2 signature, then version/command, family/protocol, length */
#define SIG       "\r\n\r\n\0\r\nQUIT\n"
/* 192.0.2.1 -> 198.51.100.2, ports 56316 -> 80 */
#define V4_ADDRS  "\xc0\x00\x02\x01" "\xc6\x33\x64\x02" "\xdb\xfc" "\x00\x50"
/* 2001:db8::1 -> 2001:db8::2, ports 1 -> 443 */
#define V6_ADDRS  "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01" \
                  "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x02" \
                  "\x00\x01" "\x01\xbb"

/* "PROXY UNKNOWN " and 91 more bytes: a 107-byte line with the CRLF */
#define PAD91 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
              "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

#define REQ "GET / HTTP/1.1\r\nHost: a\r\n\r\n"

struct pp_case {
    int         line;
    const char *in;
    size_t      len;        /* of IN */
    size_t      pad;        /* zero bytes appended to IN */
    int         rc;
    int         version;
    bool        local;
    const char *addr;       /* NULL: no address (keep the socket's peer) */
    int         port;
    size_t      hlen;       /* header bytes */
    size_t      err_by;     /* ERR: refused by this prefix length (0: any) */
};

#define IN(s)   (s), sizeof(s) - 1

static const struct pp_case cases[] = {
    /* ---- v1 ---- */
    { __LINE__, IN("PROXY TCP4 192.0.2.1 198.51.100.2 56324 80\r\n" REQ), 0,
      RC_OK, 1, false, "192.0.2.1", 56324, 44, 0 },
    { __LINE__, IN("PROXY TCP4 192.0.2.1 198.51.100.2 56324 80\r\n"), 0,
      RC_OK, 1, false, "192.0.2.1", 56324, 44, 0 },
    { __LINE__, IN("PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n"), 0,
      RC_OK, 1, false, "0.0.0.0", 0, 44, 0 },
    { __LINE__, IN("PROXY TCP6 2001:db8::1 2001:db8::2 1 443\r\n" REQ), 0,
      RC_OK, 1, false, "2001:db8::1", 1, 42, 0 },
    /* the canonical text of what was sent */
    { __LINE__, IN("PROXY TCP6 2001:DB8:0:0:0:0:0:A ::1 1 2\r\n"), 0,
      RC_OK, 1, false, "2001:db8::a", 1, 41, 0 },
    { __LINE__, IN("PROXY TCP6 ::ffff:192.0.2.9 ::1 1 2\r\n"), 0,
      RC_OK, 1, false, "::ffff:192.0.2.9", 1, 37, 0 },
    { __LINE__, IN("PROXY UNKNOWN\r\n" REQ), 0,
      RC_OK, 1, false, NULL, 0, 15, 0 },
    { __LINE__, IN("PROXY UNKNOWN ffff::1 ffff::2 65535 65535\r\n"), 0,
      RC_OK, 1, false, NULL, 0, 43, 0 },
    { __LINE__, IN("PROXY UNKNOWN " PAD91 "\r\n"), 0,
      RC_OK, 1, false, NULL, 0, 107, 0 },
    { __LINE__, IN("PROXY UNKNOWN a" PAD91 "\r\n"), 0,
      RC_ERR, 0, false, NULL, 0, 0, 106 },
    { __LINE__, IN("PROXY UNKNOWN a" PAD91), 0,
      RC_ERR, 0, false, NULL, 0, 0, 106 },
    /* no signature: refused at the first byte */
    { __LINE__, IN(REQ), 0, RC_ERR, 0, false, NULL, 0, 0, 1 },
    { __LINE__, IN("proxy TCP4 192.0.2.1 198.51.100.2 1 2\r\n"), 0,
      RC_ERR, 0, false, NULL, 0, 0, 1 },
    { __LINE__, IN("PROXYTCP4 192.0.2.1 198.51.100.2 1 2\r\n"), 0,
      RC_ERR, 0, false, NULL, 0, 0, 6 },
    { __LINE__, IN("PRO"), 0, RC_AGAIN, 0, false, NULL, 0, 0, 0 },
    { __LINE__, IN("PROXY TCP4 192.0.2.1 198.51.100.2 1 2\r"), 0,
      RC_AGAIN, 0, false, NULL, 0, 0, 0 },
    /* line ends: CRLF only */
    { __LINE__, IN("PROXY TCP4 192.0.2.1 198.51.100.2 1 2\n" REQ), 0,
      RC_ERR, 0, false, NULL, 0, 0, 38 },
    { __LINE__, IN("PROXY TCP4 192.0.2.1 198.51.100.2 1 2\rX"), 0,
      RC_ERR, 0, false, NULL, 0, 0, 0 },
    { __LINE__, IN("PROXY TCP4 192.0.2.1\x01 198.51.100.2 1 2\r\n"), 0,
      RC_ERR, 0, false, NULL, 0, 0, 21 },
    /* fields: exactly four, single spaces */
    { __LINE__, IN("PROXY TCP4  192.0.2.1 198.51.100.2 1 2\r\n"), 0,
      RC_ERR, 0, false, NULL, 0, 0, 0 },
    { __LINE__, IN("PROXY TCP4 192.0.2.1 198.51.100.2 1 2 \r\n"), 0,
      RC_ERR, 0, false, NULL, 0, 0, 0 },
    { __LINE__, IN("PROXY TCP4 192.0.2.1 198.51.100.2 1\r\n"), 0,
      RC_ERR, 0, false, NULL, 0, 0, 0 },
    { __LINE__, IN("PROXY TCP4 192.0.2.1 198.51.100.2 1 2 3\r\n"), 0,
      RC_ERR, 0, false, NULL, 0, 0, 0 },
    { __LINE__, IN("PROXY TCP4\r\n"), 0,
      RC_ERR, 0, false, NULL, 0, 0, 0 },
    { __LINE__, IN("PROXY \r\n"), 0, RC_ERR, 0, false, NULL, 0, 0, 0 },
    { __LINE__, IN("PROXY TCP5 192.0.2.1 198.51.100.2 1 2\r\n"), 0,
      RC_ERR, 0, false, NULL, 0, 0, 0 },
    { __LINE__, IN("PROXY UDP4 192.0.2.1 198.51.100.2 1 2\r\n"), 0,
      RC_ERR, 0, false, NULL, 0, 0, 0 },
    /* addresses: canonical and of the family named */
    { __LINE__, IN("PROXY TCP4 192.0.2.01 198.51.100.2 1 2\r\n"), 0,
      RC_ERR, 0, false, NULL, 0, 0, 0 },
    { __LINE__, IN("PROXY TCP4 256.0.2.1 198.51.100.2 1 2\r\n"), 0,
      RC_ERR, 0, false, NULL, 0, 0, 0 },
    { __LINE__, IN("PROXY TCP4 192.0.2 198.51.100.2 1 2\r\n"), 0,
      RC_ERR, 0, false, NULL, 0, 0, 0 },
    { __LINE__, IN("PROXY TCP4 192.0.2.1 198.51.100.02 1 2\r\n"), 0,
      RC_ERR, 0, false, NULL, 0, 0, 0 },
    { __LINE__, IN("PROXY TCP4 2001:db8::1 198.51.100.2 1 2\r\n"), 0,
      RC_ERR, 0, false, NULL, 0, 0, 0 },
    { __LINE__, IN("PROXY TCP6 192.0.2.1 2001:db8::2 1 2\r\n"), 0,
      RC_ERR, 0, false, NULL, 0, 0, 0 },
    { __LINE__, IN("PROXY TCP4 example.com 198.51.100.2 1 2\r\n"), 0,
      RC_ERR, 0, false, NULL, 0, 0, 0 },
    /* ports: decimal, 0 to 65535, no leading zero */
    { __LINE__, IN("PROXY TCP4 192.0.2.1 198.51.100.2 080 2\r\n"), 0,
      RC_ERR, 0, false, NULL, 0, 0, 0 },
    { __LINE__, IN("PROXY TCP4 192.0.2.1 198.51.100.2 1 65536\r\n"), 0,
      RC_ERR, 0, false, NULL, 0, 0, 0 },
    { __LINE__, IN("PROXY TCP4 192.0.2.1 198.51.100.2 -1 2\r\n"), 0,
      RC_ERR, 0, false, NULL, 0, 0, 0 },
    { __LINE__, IN("PROXY TCP4 192.0.2.1 198.51.100.2 1 2x\r\n"), 0,
      RC_ERR, 0, false, NULL, 0, 0, 0 },

    /* ---- v2 ---- */
    { __LINE__, IN(SIG "\x21\x11\x00\x0c" V4_ADDRS REQ), 0,
      RC_OK, 2, false, "192.0.2.1", 56316, 28, 0 },
    { __LINE__, IN(SIG "\x21\x11\x00\x0c" V4_ADDRS), 0,
      RC_OK, 2, false, "192.0.2.1", 56316, 28, 0 },
    { __LINE__, IN(SIG "\x21\x21\x00\x24" V6_ADDRS REQ), 0,
      RC_OK, 2, false, "2001:db8::1", 1, 52, 0 },
    /* UDP is taken as well: the address is what matters */
    { __LINE__, IN(SIG "\x21\x12\x00\x0c" V4_ADDRS), 0,
      RC_OK, 2, false, "192.0.2.1", 56316, 28, 0 },
    /* LOCAL (health checks): the socket's peer, whatever follows */
    { __LINE__, IN(SIG "\x20\x00\x00\x00" REQ), 0,
      RC_OK, 2, true, NULL, 0, 16, 0 },
    { __LINE__, IN(SIG "\x20\x11\x00\x0c" V4_ADDRS REQ), 0,
      RC_OK, 2, true, NULL, 0, 28, 0 },
    { __LINE__, IN(SIG "\x20\x00\x00\x03" "xyz"), 0,
      RC_OK, 2, true, NULL, 0, 19, 0 },
    /* PROXY of an unspecified or Unix family: the socket's peer too */
    { __LINE__, IN(SIG "\x21\x00\x00\x00"), 0,
      RC_OK, 2, false, NULL, 0, 16, 0 },
    { __LINE__, IN(SIG "\x21\x10\x00\x0c" V4_ADDRS), 0,
      RC_OK, 2, false, NULL, 0, 28, 0 },
    { __LINE__, IN(SIG "\x21\x31\x00\xd8"), 216,
      RC_OK, 2, false, NULL, 0, 232, 0 },
    { __LINE__, IN(SIG "\x21\x31\x00\xd7"), 215,
      RC_ERR, 0, false, NULL, 0, 0, 16 },
    /* TLVs are skipped, but must be whole */
    { __LINE__, IN(SIG "\x21\x11\x00\x13" V4_ADDRS "\x04\x00\x04" "\0\0\0\0"
                   REQ), 0,
      RC_OK, 2, false, "192.0.2.1", 56316, 35, 0 },
    { __LINE__, IN(SIG "\x21\x11\x00\x16" V4_ADDRS "\x01\x00\x02" "h2"
                   "\x04\x00\x02" "\0\0"), 0,
      RC_OK, 2, false, "192.0.2.1", 56316, 38, 0 },
    { __LINE__, IN(SIG "\x21\x11\x00\x0f" V4_ADDRS "\x01\x00\x05"), 0,
      RC_ERR, 0, false, NULL, 0, 0, 0 },
    { __LINE__, IN(SIG "\x21\x11\x00\x0e" V4_ADDRS "\x01\x00"), 0,
      RC_ERR, 0, false, NULL, 0, 0, 0 },
    /* a bad fixed part is refused as soon as it arrives */
    { __LINE__, IN(SIG "\x11\x11\x00\x0c" V4_ADDRS), 0,
      RC_ERR, 0, false, NULL, 0, 0, 13 },
    { __LINE__, IN(SIG "\x22\x11\x00\x0c" V4_ADDRS), 0,
      RC_ERR, 0, false, NULL, 0, 0, 13 },
    { __LINE__, IN(SIG "\x21\x41\x00\x0c" V4_ADDRS), 0,
      RC_ERR, 0, false, NULL, 0, 0, 14 },
    { __LINE__, IN(SIG "\x21\x13\x00\x0c" V4_ADDRS), 0,
      RC_ERR, 0, false, NULL, 0, 0, 14 },
    { __LINE__, IN(SIG "\x21\x11\x00\x08" V4_ADDRS), 0,
      RC_ERR, 0, false, NULL, 0, 0, 16 },
    { __LINE__, IN(SIG "\x21\x21\x00\x0c" V4_ADDRS), 0,
      RC_ERR, 0, false, NULL, 0, 0, 16 },
    { __LINE__, IN(SIG "\x21\x11\x04\x01"), 0,
      RC_ERR, 0, false, NULL, 0, 0, 16 },
    { __LINE__, IN("\r\n\r\n\0\r\nQUIX\n" "\x21\x11\x00\x0c" V4_ADDRS), 0,
      RC_ERR, 0, false, NULL, 0, 0, 11 },
    { __LINE__, IN("\r\nGET / HTTP/1.1\r\n"), 0,
      RC_ERR, 0, false, NULL, 0, 0, 3 },
    /* incomplete: more is needed */
    { __LINE__, IN(SIG "\x21\x11\x00"), 0,
      RC_AGAIN, 0, false, NULL, 0, 0, 0 },
    { __LINE__, IN(SIG "\x21\x11\x00\x0c" "\xc0\x00\x02\x01"), 0,
      RC_AGAIN, 0, false, NULL, 0, 0, 0 },
};

/* Parse the first LEN bytes of DATA from an exact-size copy. */
static int
parse_prefix(const char *data, size_t len, struct proxy_proto_hdr *h,
             const char **why)
{
    char *copy = malloc(len > 0 ? len : 1);
    int rc;

    assert_non_null(copy);
    memcpy(copy, data, len);
    rc = proxy_proto_parse(copy, len, h, why);
    free(copy);
    return rc;
}

static bool
hdr_same(const struct proxy_proto_hdr *a, const struct proxy_proto_hdr *b)
{
    return a->version == b->version && a->local == b->local
        && a->has_addr == b->has_addr && a->family == b->family
        && memcmp(a->src, b->src, sizeof(a->src)) == 0
        && a->src_port == b->src_port && a->len == b->len;
}

/* One case, whole: the fields it names. */
static void
check_whole(const struct pp_case *tc, const char *in, size_t len)
{
    struct proxy_proto_hdr h;
    const char *why = NULL;
    char text[PROXY_PROTO_ADDR_MAX];
    int rc;

    memset(&h, 0xa5, sizeof(h));
    rc = parse_prefix(in, len, &h, &why);
    if (rc != tc->rc) {
        print_error("line %d: rc %d, want %d (%s)\n", tc->line, rc, tc->rc,
                    why != NULL ? why : "-");
        fail();
    }
    if (rc == RC_ERR && why == NULL) {
        print_error("line %d: refused without a reason\n", tc->line);
        fail();
    }
    if (rc != RC_OK)
        return;
    if (h.version != tc->version || h.local != tc->local
        || h.len != tc->hlen || h.has_addr != (tc->addr != NULL)) {
        print_error("line %d: version %d local %d len %u addr %d, want %d "
                    "%d %zu %d\n", tc->line, h.version, h.local, h.len,
                    h.has_addr, tc->version, tc->local, tc->hlen,
                    tc->addr != NULL);
        fail();
    }
    if (tc->addr == NULL) {
        assert_int_equal(proxy_proto_addr_text(&h, text, sizeof(text)),
                         RC_ERR);
        return;
    }
    assert_int_equal(proxy_proto_addr_text(&h, text, sizeof(text)), RC_OK);
    if (strcmp(text, tc->addr) != 0 || h.src_port != tc->port) {
        print_error("line %d: %s port %u, want %s port %d\n", tc->line, text,
                    h.src_port, tc->addr, tc->port);
        fail();
    }
}

/* Every prefix of the case: RC_AGAIN, then the whole result for good. */
static void
check_prefixes(const struct pp_case *tc, const char *in, size_t len)
{
    struct proxy_proto_hdr whole, h;
    size_t refused_at = 0;
    int whole_rc = parse_prefix(in, len, &whole, NULL);

    for (size_t k = 0; k <= len; k++) {
        int rc = parse_prefix(in, k, &h, NULL);
        int want;

        if (whole_rc == RC_OK)
            want = k < whole.len ? RC_AGAIN : RC_OK;
        else if (refused_at > 0)
            want = RC_ERR;
        else
            want = rc == RC_ERR ? RC_ERR : RC_AGAIN;
        if (rc == RC_ERR && refused_at == 0)
            refused_at = k;
        if (rc != want) {
            print_error("line %d: prefix of %zu bytes: rc %d, want %d\n",
                        tc->line, k, rc, want);
            fail();
        }
        if (rc == RC_OK && !hdr_same(&h, &whole)) {
            print_error("line %d: prefix of %zu bytes: another header\n",
                        tc->line, k);
            fail();
        }
    }
    if (tc->rc == RC_ERR && tc->err_by > 0 && refused_at > tc->err_by) {
        print_error("line %d: refused after %zu bytes, want by %zu\n",
                    tc->line, refused_at, tc->err_by);
        fail();
    }
}

static void
test_proxy_proto_table(void **state)
{
    UNUSED(state);
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        const struct pp_case *tc = &cases[i];
        size_t len = tc->len + tc->pad;
        char *in = calloc(1, len > 0 ? len : 1);

        assert_non_null(in);
        memcpy(in, tc->in, tc->len);
        check_whole(tc, in, len);
        check_prefixes(tc, in, len);
        free(in);
    }
}

/* v1 worst case: 107 bytes are enough, and the limit is not one off. */
static void
test_proxy_proto_v1_limits(void **state)
{
    char line[PROXY_PROTO_V1_MAX + 8];
    struct proxy_proto_hdr h;
    size_t n;

    UNUSED(state);
    n = (size_t) snprintf(line, sizeof(line), "PROXY TCP6 "
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe 65535 65535\r\n");
    assert_int_equal(n, 104);
    assert_int_equal(proxy_proto_parse(line, n, &h, NULL), RC_OK);
    assert_int_equal(h.len, 104);
    assert_true(h.has_addr);
    assert_int_equal(h.src_port, 65535);
}

/* The largest v2 header taken, and one byte more. */
static void
test_proxy_proto_v2_limit(void **state)
{
    static const char fixed[] = SIG "\x21\x11";
    size_t total = PROXY_PROTO_V2_FIXED + PROXY_PROTO_V2_BODY_MAX;
    char *in = calloc(1, total + 1);
    struct proxy_proto_hdr h;
    size_t body = PROXY_PROTO_V2_BODY_MAX, off;

    UNUSED(state);
    assert_non_null(in);
    memcpy(in, fixed, sizeof(fixed) - 1);
    in[14] = (char) (body >> 8);
    in[15] = (char) (body & 0xff);
    memcpy(in + 16, V4_ADDRS, 12);
    /* TLVs filling the rest: NOOPs of up to 255 bytes */
    for (off = 16 + 12; off < total; ) {
        size_t v = total - off - 3 > 255 ? 255 : total - off - 3;
        in[off] = 0x04;
        in[off + 1] = 0;
        in[off + 2] = (char) v;
        off += 3 + v;
    }
    assert_int_equal(off, total);
    assert_int_equal(proxy_proto_parse(in, total, &h, NULL), RC_OK);
    assert_int_equal(h.len, total);
    body++;
    in[14] = (char) (body >> 8);
    in[15] = (char) (body & 0xff);
    assert_int_equal(proxy_proto_parse(in, total + 1, &h, NULL), RC_ERR);
    free(in);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_proxy_proto_table),
        cmocka_unit_test(test_proxy_proto_v1_limits),
        cmocka_unit_test(test_proxy_proto_v2_limit),
    };

    return cmocka_run_group_tests_name("proxy_proto", tests, NULL, NULL);
}
