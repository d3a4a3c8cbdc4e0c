/* test_forwarded.c - unit tests for worker/forwarded.h (which address of
 * X-Forwarded-For a trusted peer's request names as the client) and the
 * parser's part in it (http_parse.h records the first X-Forwarded-For
 * line, counts them, and notes X-Forwarded-Proto: https). One table of
 * { __LINE__, header lines, trusted blocks, client, https } (lighttpd
 * style); each head goes through the real parser first.
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
#include "forwarded.h"
#include "http_parse.h"
#include "net.h"

#define TRUSTED "10.0.0.0/8 ::1/128"

struct fwd_case {
    int         line;
    const char *headers;    /* lines after Host, each ending in CRLF */
    const char *trusted;    /* space-separated CIDRs */
    const char *client;     /* NULL: the header names none (the peer) */
    bool        https;
};

static const struct fwd_case cases[] = {
    { __LINE__, "", TRUSTED, NULL, false },
    { __LINE__, "X-Forwarded-For: 192.0.2.7\r\n", TRUSTED, "192.0.2.7", false },
    /* trusted hops on the right are skipped */
    { __LINE__, "X-Forwarded-For: 192.0.2.7, 10.0.0.2\r\n", TRUSTED,
      "192.0.2.7", false },
    { __LINE__, "X-Forwarded-For: 192.0.2.7,10.0.0.2,10.1.2.3\r\n", TRUSTED,
      "192.0.2.7", false },
    /* what the client wrote itself (on the left) is not believed */
    { __LINE__, "X-Forwarded-For: 198.51.100.9, 192.0.2.7, 10.0.0.2\r\n",
      TRUSTED, "192.0.2.7", false },
    { __LINE__, "X-Forwarded-For: 10.9.9.9, 192.0.2.7, 10.0.0.2\r\n",
      TRUSTED, "192.0.2.7", false },
    /* every hop trusted: the first */
    { __LINE__, "X-Forwarded-For: 10.0.0.3, 10.0.0.2\r\n", TRUSTED,
      "10.0.0.3", false },
    /* nothing trusted: the rightmost */
    { __LINE__, "X-Forwarded-For: 198.51.100.9, 192.0.2.7\r\n", "",
      "192.0.2.7", false },
    /* all lines taken together, in order, names any case */
    { __LINE__, "X-Forwarded-For: 198.51.100.9\r\nUser-Agent: t\r\n"
                "X-Forwarded-For: 192.0.2.7, 10.0.0.2\r\n", TRUSTED,
      "192.0.2.7", false },
    { __LINE__, "X-Forwarded-For: 192.0.2.7\r\nx-forwarded-for: 10.0.0.2\r\n",
      TRUSTED, "192.0.2.7", false },
    { __LINE__, "X-Forwarded-For: 192.0.2.7\r\nAccept: */*\r\n"
                "X-FORWARDED-FOR:10.0.0.2 \r\nX-Forwarded-For:\t10.0.0.3\r\n",
      TRUSTED, "192.0.2.7", false },
    { __LINE__, "X-Forwarded-For: 10.0.0.2\r\nX-Forwarded-For: 192.0.2.8\r\n",
      TRUSTED, "192.0.2.8", false },
    /* look-alike names are other headers */
    { __LINE__, "X-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Fort: 192.0.2.9\r\n"
                "X-Forwarded-For-Orig: 192.0.2.10\r\n", TRUSTED,
      "192.0.2.7", false },
    /* a malformed element stops the walk: the last good one, or none */
    { __LINE__, "X-Forwarded-For: 192.0.2.7, garbage, 10.0.0.2\r\n", TRUSTED,
      "10.0.0.2", false },
    { __LINE__, "X-Forwarded-For: 192.0.2.7, 10.0.0.2, garbage\r\n", TRUSTED,
      NULL, false },
    { __LINE__, "X-Forwarded-For: 192.0.2.7\r\nX-Forwarded-For: unknown\r\n",
      TRUSTED, NULL, false },
    { __LINE__, "X-Forwarded-For: garbage, 192.0.2.7\r\n", TRUSTED,
      "192.0.2.7", false },
    { __LINE__, "X-Forwarded-For: 192.0.2.7:1234\r\n", TRUSTED, NULL, false },
    { __LINE__, "X-Forwarded-For: [2001:db8::1]\r\n", TRUSTED, NULL, false },
    { __LINE__, "X-Forwarded-For: 192.0.2.07\r\n", TRUSTED, NULL, false },
    { __LINE__, "X-Forwarded-For: 1111:2222:3333:4444:5555:6666:7777:8888:9\r\n",
      TRUSTED, NULL, false },
    { __LINE__, "X-Forwarded-For: 0000:0000:0000:0000:0000:ffff:192.000.002.007\r\n",
      TRUSTED, NULL, false },
    /* empty elements and values are nothing, not malformed */
    { __LINE__, "X-Forwarded-For: , 192.0.2.7 ,, \r\n", TRUSTED,
      "192.0.2.7", false },
    { __LINE__, "X-Forwarded-For:\r\n", TRUSTED, NULL, false },
    { __LINE__, "X-Forwarded-For: 192.0.2.7\r\nX-Forwarded-For: \r\n", TRUSTED,
      "192.0.2.7", false },
    /* IPv6, in canonical form; a mapped IPv4 address is matched as IPv4 */
    { __LINE__, "X-Forwarded-For: 2001:DB8:0::1\r\n", TRUSTED,
      "2001:db8::1", false },
    { __LINE__, "X-Forwarded-For: 2001:db8::1, ::1\r\n", TRUSTED,
      "2001:db8::1", false },
    { __LINE__, "X-Forwarded-For: 192.0.2.7, ::ffff:10.0.0.5\r\n", TRUSTED,
      "192.0.2.7", false },
    /* X-Forwarded-Proto: its last element, of its last line */
    { __LINE__, "X-Forwarded-Proto: https\r\n", TRUSTED, NULL, true },
    { __LINE__, "X-Forwarded-Proto: HTTPS \r\n", TRUSTED, NULL, true },
    { __LINE__, "X-Forwarded-Proto: http\r\n", TRUSTED, NULL, false },
    { __LINE__, "X-Forwarded-Proto: http, https\r\n", TRUSTED, NULL, true },
    { __LINE__, "X-Forwarded-Proto: https, http\r\n", TRUSTED, NULL, false },
    { __LINE__, "X-Forwarded-Proto: https\r\nX-Forwarded-Proto: http\r\n",
      TRUSTED, NULL, false },
    { __LINE__, "X-Forwarded-Proto: httpss\r\n", TRUSTED, NULL, false },
    { __LINE__, "X-Forwarded-Protocol: https\r\n", TRUSTED, NULL, false },
    { __LINE__, "X-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: https\r\n",
      TRUSTED, "192.0.2.7", true },
};

/* TEXT: space-separated CIDRs into LIST (room for 8). */
static int
parse_trusted(const char *text, struct net_cidr *list)
{
    char copy[256], *save = NULL, *tok;
    int n = 0;

    snprintf(copy, sizeof(copy), "%s", text);
    for (tok = strtok_r(copy, " ", &save); tok != NULL;
         tok = strtok_r(NULL, " ", &save)) {
        assert_true(n < 8);
        assert_int_equal(net_cidr_parse(tok, &list[n]), RC_OK);
        n++;
    }
    return n;
}

static void
test_forwarded_table(void **state)
{
    UNUSED(state);
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        const struct fwd_case *tc = &cases[i];
        struct http_parser p;
        struct http_request r;
        struct net_cidr trusted[8];
        char head[1024], out[FORWARDED_ADDR_MAX], *copy;
        int n = parse_trusted(tc->trusted, trusted), rc;
        size_t len;
        bool got;

        len = (size_t) snprintf(head, sizeof(head),
                                "GET / HTTP/1.1\r\nHost: a\r\n%s\r\n",
                                tc->headers);
        copy = malloc(len);             /* exact size: no read past it */
        assert_non_null(copy);
        memcpy(copy, head, len);
        http_parser_init(&p, &r);
        rc = http_parse_request(&p, &r, copy, len, 8192);
        if (rc != RC_OK) {
            print_error("line %d: the head does not parse (%d)\n", tc->line,
                        rc);
            fail();
        }
        memset(out, 0, sizeof(out));
        got = forwarded_client(copy, &r, trusted, n, out, sizeof(out));
        if (got != (tc->client != NULL)
            || (got && strcmp(out, tc->client) != 0)) {
            print_error("line %d: client %s, want %s\n", tc->line,
                        got ? out : "(none)",
                        tc->client != NULL ? tc->client : "(none)");
            fail();
        }
        if (r.xfp_https != tc->https) {
            print_error("line %d: https %d, want %d\n", tc->line, r.xfp_https,
                        tc->https);
            fail();
        }
        free(copy);
    }
}

/* The parser counts the lines (saturating) and keeps the first value. */
static void
test_forwarded_parser_records(void **state)
{
    static const char head[] =
        "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 192.0.2.1\r\n"
        "X-Forwarded-For: 192.0.2.2\r\nX-Forwarded-For: 192.0.2.3\r\n\r\n";
    char big[300 * 32 + 64];
    struct http_parser p;
    struct http_request r;
    size_t len;

    UNUSED(state);
    http_parser_init(&p, &r);
    assert_int_equal(http_parse_request(&p, &r, head, sizeof(head) - 1, 8192),
                     RC_OK);
    assert_int_equal(r.xff_lines, 3);
    assert_int_equal(r.x_forwarded_for.len, 9);
    assert_memory_equal(head + r.x_forwarded_for.off, "192.0.2.1", 9);

    len = (size_t) snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < 300; i++)
        len += (size_t) snprintf(big + len, sizeof(big) - len,
                                 "X-Forwarded-For: 10.0.0.%d\r\n", i % 250);
    len += (size_t) snprintf(big + len, sizeof(big) - len, "\r\n");
    http_parser_init(&p, &r);
    assert_int_equal(http_parse_request(&p, &r, big, len, sizeof(big)), RC_OK);
    assert_int_equal(r.xff_lines, 255);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forwarded_table),
        cmocka_unit_test(test_forwarded_parser_records),
    };

    return cmocka_run_group_tests_name("forwarded", tests, NULL, NULL);
}
