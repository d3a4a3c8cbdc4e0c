/* test_session_util.c - form, cookie, escape, token, username, backoff helpers.
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
#include "http_util.h"
#include "redis_client.h"
#include "session.h"
#include "site_nav.h"

#define NOCHECK ((const char *) 0)  /* expected output not compared */

/* Print the table line of a failing case, then fail. */
#define CASE_FAIL(line, ...)                                            \
    do {                                                                \
        print_error("case at line %d: ", (line));                       \
        print_error(__VA_ARGS__);                                       \
        print_error("\n");                                              \
        fail();                                                         \
    } while (0)

/* ---- http_util_form_field ---- */

struct form_case {
    int         line;
    const char *body;
    const char *name;
    size_t      cap;
    int         rc;         /* length, RC_DONE or RC_ERR */
    const char *out;        /* expected value when rc >= 0 */
};

static const struct form_case form_cases[] = {
    { __LINE__, "username=alice&password=secret", "username", 64, 5, "alice" },
    { __LINE__, "username=alice&password=secret", "password", 64, 6, "secret" },
    { __LINE__, "a=1&b=2&c=3", "c", 64, 1, "3" },
    /* '+' is a space, %XX a byte, upper and lower case hex */
    { __LINE__, "q=hello+world", "q", 64, 11, "hello world" },
    { __LINE__, "q=a%20b%2Bc", "q", 64, 5, "a b+c" },
    { __LINE__, "q=%41%62%7e", "q", 64, 3, "Ab~" },
    { __LINE__, "q=%3d%26", "q", 64, 2, "=&" },
    { __LINE__, "q=%C3%A9", "q", 64, 2, "\xc3\xa9" },
    /* bad escapes */
    { __LINE__, "q=%", "q", 64, RC_ERR, NOCHECK },
    { __LINE__, "q=%4", "q", 64, RC_ERR, NOCHECK },
    { __LINE__, "q=%zz", "q", 64, RC_ERR, NOCHECK },
    { __LINE__, "q=%4g&r=1", "q", 64, RC_ERR, NOCHECK },
    { __LINE__, "q=abc%", "q", 64, RC_ERR, NOCHECK },
    { __LINE__, "q=%00", "q", 64, RC_ERR, NOCHECK },   /* encoded NUL */
    /* absent */
    { __LINE__, "", "q", 64, RC_DONE, NOCHECK },
    { __LINE__, "a=1&b=2", "q", 64, RC_DONE, NOCHECK },
    { __LINE__, "qq=1&xq=2", "q", 64, RC_DONE, NOCHECK },
    { __LINE__, "user=bob", "username", 64, RC_DONE, NOCHECK },
    { __LINE__, "username=bob", "user", 64, RC_DONE, NOCHECK },
    { __LINE__, "a=q&b=q", "q", 64, RC_DONE, NOCHECK },
    /* the first of duplicates wins */
    { __LINE__, "q=first&q=second", "q", 64, 5, "first" },
    { __LINE__, "x=0&q=&q=second", "q", 64, 0, "" },
    /* empty values, a name without '=' */
    { __LINE__, "q=", "q", 64, 0, "" },
    { __LINE__, "q=&r=2", "q", 64, 0, "" },
    { __LINE__, "q&r=2", "q", 64, 0, "" },
    { __LINE__, "&&q=1&&", "q", 64, 1, "1" },
    /* cap: value plus NUL must fit */
    { __LINE__, "q=abcd", "q", 5, 4, "abcd" },
    { __LINE__, "q=abcde", "q", 5, RC_ERR, NOCHECK },
    { __LINE__, "q=abcdefghijklmnop", "q", 5, RC_ERR, NOCHECK },
};

static void
test_session_util_form_field(void **state)
{
    (void) state;
    for (size_t i = 0; i < ARRAY_SIZE(form_cases); i++) {
        const struct form_case *t = &form_cases[i];
        size_t blen = strlen(t->body);
        char *body = malloc(blen + 1);      /* exact size: no NUL relied on */
        char out[256];
        int rc;

        assert_non_null(body);
        memcpy(body, t->body, blen);
        memset(out, 'X', sizeof(out));
        rc = http_util_form_field(body, blen, t->name, out, t->cap);
        free(body);
        if (rc != t->rc)
            CASE_FAIL(t->line, "rc %d, want %d", rc, t->rc);
        if (rc >= 0 && t->out != NOCHECK) {
            if ((size_t) rc != strlen(t->out) || memcmp(out, t->out, (size_t) rc) != 0
                || out[rc] != '\0')
                CASE_FAIL(t->line, "value '%.*s', want '%s'", rc, out, t->out);
        }
        if (rc >= 0 && (size_t) rc >= t->cap)
            CASE_FAIL(t->line, "length %d does not fit cap %zu", rc, t->cap);
    }
}

/* The body is not NUL-terminated in the server: LEN must bound the scan. */
static void
test_session_util_form_field_uses_len(void **state)
{
    const char body[] = "q=abc&r=def";
    char out[16];

    (void) state;
    assert_int_equal(http_util_form_field(body, 5, "q", out, sizeof(out)), 3);
    assert_string_equal(out, "abc");
    assert_int_equal(http_util_form_field(body, 4, "q", out, sizeof(out)), 2);
    assert_string_equal(out, "ab");
    assert_int_equal(http_util_form_field(body, 8, "r", out, sizeof(out)), 0);
    assert_string_equal(out, "");
    assert_int_equal(http_util_form_field(body, 9, "r", out, sizeof(out)), 1);
    assert_string_equal(out, "d");
    assert_int_equal(http_util_form_field(body, 5, "r", out, sizeof(out)),
                     RC_DONE);
}

/* CAP bounds the decoded value, not its encoding: "%41%42%43" is "ABC",
 * which fits in 4 bytes. The server passes cap 129 for passwords, so a
 * 60-byte password of symbols (180 bytes on the wire) was refused with 400
 * (found by this test and test_session_register_long_encoded_password). */
static void
test_session_util_form_field_cap_counts_decoded(void **state)
{
    const char body[] = "q=%41%42%43&r=a+b+c+d";
    char out[8];

    (void) state;
    memset(out, 'X', sizeof(out));
    assert_int_equal(http_util_form_field(body, sizeof(body) - 1, "q", out, 4),
                     3);
    assert_string_equal(out, "ABC");
    assert_int_equal(out[4], 'X');
    assert_int_equal(http_util_form_field(body, sizeof(body) - 1, "r", out, 8),
                     7);
    assert_string_equal(out, "a b c d");
    /* decoded too long still fails, without writing past CAP */
    memset(out, 'X', sizeof(out));
    assert_int_equal(http_util_form_field(body, sizeof(body) - 1, "q", out, 3),
                     RC_ERR);
    assert_int_equal(out[3], 'X');
}

/* ---- http_util_cookie ---- */

struct cookie_case {
    int         line;
    const char *hdr;
    const char *name;
    size_t      cap;
    int         rc;
    const char *out;
};

static const struct cookie_case cookie_cases[] = {
    { __LINE__, "sid=abc", "sid", 64, 3, "abc" },
    { __LINE__, "a=1; sid=abc; b=2", "sid", 64, 3, "abc" },
    { __LINE__, "a=1;sid=abc;b=2", "sid", 64, 3, "abc" },
    { __LINE__, "a=1;   sid=abc  ;b=2", "sid", 64, 3, "abc" },
    { __LINE__, "a=1; b=2; sid=last", "sid", 64, 4, "last" },
    { __LINE__, "  sid = abc ", "sid", 64, 3, "abc" },
    { __LINE__, "\tsid=abc\t", "sid", 64, 3, "abc" },
    /* quoted values lose their quotes */
    { __LINE__, "sid=\"abc\"", "sid", 64, 3, "abc" },
    { __LINE__, "a=1; sid=\"abc\"; b=2", "sid", 64, 3, "abc" },
    { __LINE__, "sid=\"\"", "sid", 64, 0, "" },
    /* absent */
    { __LINE__, "", "sid", 64, RC_DONE, NOCHECK },
    { __LINE__, "a=1; b=2", "sid", 64, RC_DONE, NOCHECK },
    { __LINE__, "a=sid", "sid", 64, RC_DONE, NOCHECK },
    /* names that merely contain "sid" do not match */
    { __LINE__, "xsid=bad", "sid", 64, RC_DONE, NOCHECK },
    { __LINE__, "sidx=bad", "sid", 64, RC_DONE, NOCHECK },
    { __LINE__, "xsid=bad; sid=good", "sid", 64, 4, "good" },
    { __LINE__, "sidx=bad; sid=good", "sid", 64, 4, "good" },
    { __LINE__, "SID=bad", "sid", 64, RC_DONE, NOCHECK },
    /* a pair without '=' is skipped */
    { __LINE__, "sid; a=1", "sid", 64, RC_DONE, NOCHECK },
    { __LINE__, "junk; sid=abc", "sid", 64, 3, "abc" },
    { __LINE__, "sid; sid=abc", "sid", 64, 3, "abc" },
    { __LINE__, "a=1; junk; sid=abc; more", "sid", 64, 3, "abc" },
    /* empty value, first of duplicates */
    { __LINE__, "sid=; a=1", "sid", 64, 0, "" },
    { __LINE__, "sid=one; sid=two", "sid", 64, 3, "one" },
    /* '=' inside the value is kept */
    { __LINE__, "sid=a=b; c=d", "sid", 64, 3, "a=b" },
    /* cap */
    { __LINE__, "sid=abcd", "sid", 5, 4, "abcd" },
    { __LINE__, "sid=abcde", "sid", 5, RC_ERR, NOCHECK },
};

static void
test_session_util_cookie(void **state)
{
    (void) state;
    for (size_t i = 0; i < ARRAY_SIZE(cookie_cases); i++) {
        const struct cookie_case *t = &cookie_cases[i];
        size_t hlen = strlen(t->hdr);
        char *hdr = malloc(hlen + 1);
        char out[256];
        int rc;

        assert_non_null(hdr);
        memcpy(hdr, t->hdr, hlen);
        memset(out, 'X', sizeof(out));
        rc = http_util_cookie(hdr, hlen, t->name, out, t->cap);
        free(hdr);
        if (rc != t->rc)
            CASE_FAIL(t->line, "rc %d, want %d", rc, t->rc);
        if (rc >= 0 && t->out != NOCHECK) {
            if ((size_t) rc != strlen(t->out) || memcmp(out, t->out, (size_t) rc) != 0
                || out[rc] != '\0')
                CASE_FAIL(t->line, "value '%.*s', want '%s'", rc, out, t->out);
        }
    }
}

static void
test_session_util_cookie_uses_len(void **state)
{
    const char hdr[] = "sid=abcdef; x=1";
    char out[16];

    (void) state;
    assert_int_equal(http_util_cookie(hdr, 7, "sid", out, sizeof(out)), 3);
    assert_string_equal(out, "abc");
    assert_int_equal(http_util_cookie(hdr, 3, "sid", out, sizeof(out)),
                     RC_DONE);
}

/* ---- http_util_html_escape ---- */

struct escape_case {
    int         line;
    const char *in;
    size_t      cap;
    int         rc;
    const char *out;
};

static const struct escape_case escape_cases[] = {
    { __LINE__, "", 1, 0, "" },
    { __LINE__, "alice", 64, 5, "alice" },
    { __LINE__, "&", 64, 5, "&amp;" },
    { __LINE__, "<", 64, 4, "&lt;" },
    { __LINE__, ">", 64, 4, "&gt;" },
    { __LINE__, "\"", 64, 6, "&quot;" },
    { __LINE__, "'", 64, 5, "&#39;" },
    { __LINE__, "<a href=\"x\">Tom & Jerry's</a>", 128, 59,
      "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;" },
    { __LINE__, "&amp;", 64, 9, "&amp;amp;" },     /* no double-unescape */
    /* cap: result plus NUL must fit */
    { __LINE__, "abc", 4, 3, "abc" },
    { __LINE__, "abc", 3, RC_ERR, NOCHECK },
    { __LINE__, "&", 6, 5, "&amp;" },
    { __LINE__, "&", 5, RC_ERR, NOCHECK },
    { __LINE__, "a<b", 6, RC_ERR, NOCHECK },
    { __LINE__, "a<b", 7, 6, "a&lt;b" },
    { __LINE__, "\"\"", 12, RC_ERR, NOCHECK },
    { __LINE__, "\"\"", 13, 12, "&quot;&quot;" },
};

static void
test_session_util_html_escape(void **state)
{
    (void) state;
    for (size_t i = 0; i < ARRAY_SIZE(escape_cases); i++) {
        const struct escape_case *t = &escape_cases[i];
        size_t len = strlen(t->in);
        char *in = malloc(len + 1);
        char *out = malloc(t->cap + 1);     /* sentinel byte past cap */
        int rc;

        assert_non_null(in);
        assert_non_null(out);
        memcpy(in, t->in, len);
        memset(out, 'X', t->cap + 1);
        rc = http_util_html_escape(in, len, out, t->cap);
        if (out[t->cap] != 'X')
            CASE_FAIL(t->line, "wrote past cap %zu", t->cap);
        if (rc != t->rc)
            CASE_FAIL(t->line, "rc %d, want %d", rc, t->rc);
        if (rc >= 0 && t->out != NOCHECK
            && (strlen(out) != (size_t) rc || strcmp(out, t->out) != 0))
            CASE_FAIL(t->line, "'%s', want '%s'", out, t->out);
        free(in);
        free(out);
    }
}

/* CAP 0 leaves no room even for the NUL of an empty result: RC_ERR, and
 * nothing may be written (found by this test: out[0] was written). */
static void
test_session_util_html_escape_cap_zero(void **state)
{
    char out[2] = { 'X', 'X' };

    (void) state;
    assert_int_equal(http_util_html_escape("", 0, out + 1, 0), RC_ERR);
    assert_int_equal(out[1], 'X');
    assert_int_equal(http_util_html_escape("a", 1, out + 1, 0), RC_ERR);
    assert_int_equal(out[1], 'X');
}

/* ---- session_token_new ---- */

static int
cmp_token(const void *a, const void *b)
{
    return strcmp((const char *) a, (const char *) b);
}

static void
test_session_util_token_format(void **state)
{
    char tok[66];

    (void) state;
    for (int i = 0; i < 100; i++) {
        memset(tok, 'Z', sizeof(tok));
        assert_int_equal(session_token_new(tok), RC_OK);
        assert_int_equal(tok[64], '\0');
        assert_int_equal(tok[65], 'Z');     /* 65 bytes, no more */
        assert_int_equal(strlen(tok), 64);
        for (int k = 0; k < 64; k++) {
            if (!((tok[k] >= '0' && tok[k] <= '9')
                  || (tok[k] >= 'a' && tok[k] <= 'f'))) {
                print_error("token %s: byte %d is '%c'\n", tok, k, tok[k]);
                fail();
            }
        }
    }
}

static void
test_session_util_token_distinct(void **state)
{
    enum { N = 1000 };
    char (*toks)[65] = calloc(N, sizeof(*toks));

    (void) state;
    assert_non_null(toks);
    for (int i = 0; i < N; i++)
        assert_int_equal(session_token_new(toks[i]), RC_OK);
    qsort(toks, N, sizeof(*toks), cmp_token);
    for (int i = 1; i < N; i++) {
        if (strcmp(toks[i - 1], toks[i]) == 0) {
            print_error("duplicate token %s\n", toks[i]);
            fail();
        }
    }
    free(toks);
}

/* ---- session_username_valid ---- */

struct user_case {
    int         line;
    const char *name;
    int         valid;
};

static const struct user_case user_cases[] = {
    { __LINE__, "", 0 },
    { __LINE__, "a", 0 },
    { __LINE__, "ab", 0 },
    { __LINE__, "abc", 1 },                                  /* 3: lower bound */
    { __LINE__, "abcdefghijklmnopqrstuvwxyz012345", 1 },     /* 32 */
    { __LINE__, "abcdefghijklmnopqrstuvwxyz0123456", 0 },    /* 33 */
    { __LINE__, "ABCXYZ", 1 },
    { __LINE__, "a_b.c-d", 1 },
    { __LINE__, "0123456789", 1 },
    { __LINE__, "...", 1 },
    { __LINE__, "---", 1 },
    { __LINE__, "___", 1 },
    { __LINE__, "al ice", 0 },
    { __LINE__, "alice!", 0 },
    { __LINE__, "al/ice", 0 },
    { __LINE__, "al:ice", 0 },      /* would break the Redis key layout */
    { __LINE__, "al*ce", 0 },
    { __LINE__, "al<ce", 0 },
    { __LINE__, "al&ce", 0 },
    { __LINE__, "al'ce", 0 },
    { __LINE__, "al\"ce", 0 },
    { __LINE__, "al+ce", 0 },
    { __LINE__, "al%ce", 0 },
    { __LINE__, "al@ce", 0 },
    { __LINE__, "al~ce", 0 },
    { __LINE__, "al\tce", 0 },
    { __LINE__, "al\nce", 0 },
    { __LINE__, "\xc3\xa9t\xc3\xa9", 0 },
};

static void
test_session_util_username_valid(void **state)
{
    (void) state;
    for (size_t i = 0; i < ARRAY_SIZE(user_cases); i++) {
        const struct user_case *t = &user_cases[i];
        size_t len = strlen(t->name);
        char *name = malloc(len + 1);
        int v;

        assert_non_null(name);
        memcpy(name, t->name, len);
        v = session_username_valid(name, len);
        free(name);
        if (v != t->valid)
            CASE_FAIL(t->line, "'%s': %d, want %d", t->name, v, t->valid);
    }
}

/* Every byte value on its own inside an otherwise valid name. */
static void
test_session_util_username_charset(void **state)
{
    (void) state;
    for (int ch = 0; ch < 256; ch++) {
        char name[3] = { 'a', (char) ch, 'b' };
        int want = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
                   || (ch >= '0' && ch <= '9') || ch == '_' || ch == '.'
                   || ch == '-';
        if (session_username_valid(name, 3) != want) {
            print_error("byte 0x%02x: want %d\n", ch, want);
            fail();
        }
    }
    /* LEN bounds the check: trailing garbage past it is ignored */
    assert_int_equal(session_username_valid("abc!!!", 3), 1);
    assert_int_equal(session_username_valid("ab!", 2), 0);
}

/* ---- http_util_same_origin ---- */

struct origin_case {
    int         line;
    const char *s;          /* Origin or Referer value */
    bool        https;      /* the request came over HTTPS */
    const char *host;       /* its Host value */
    bool        same;
};

static const struct origin_case origin_cases[] = {
    { __LINE__, "http://example.com", false, "example.com", true },
    { __LINE__, "http://example.com", false, "example.com:80", true },
    { __LINE__, "http://example.com:80", false, "example.com", true },
    { __LINE__, "http://EXAMPLE.com", false, "example.COM", true },
    { __LINE__, "HTTP://example.com", false, "example.com", true },
    { __LINE__, "http://example.com/login.html?x=1", false, "example.com", true },
    { __LINE__, "http://example.com?x", false, "example.com", true },
    { __LINE__, "http://example.com#top", false, "example.com", true },
    { __LINE__, "http://127.0.0.1:8080", false, "127.0.0.1:8080", true },
    { __LINE__, "http://127.0.0.1:8080/", false, "127.0.0.1:08080", true },
    { __LINE__, "http://[::1]:8080", false, "[::1]:8080", true },
    { __LINE__, "https://example.com", true, "example.com", true },
    { __LINE__, "https://example.com:443", true, "example.com", true },
    { __LINE__, "https://example.com:8443", true, "example.com:8443", true },
    /* another origin */
    { __LINE__, "http://evil.example", false, "example.com", false },
    { __LINE__, "http://example.com.evil.example", false, "example.com", false },
    { __LINE__, "http://example.co", false, "example.com", false },
    { __LINE__, "http://example.com:8080", false, "example.com", false },
    { __LINE__, "http://example.com", false, "example.com:8080", false },
    { __LINE__, "http://127.0.0.1:8081", false, "127.0.0.1:8080", false },
    { __LINE__, "http://[::1]:8080", false, "[::2]:8080", false },
    /* the scheme is part of the origin */
    { __LINE__, "https://example.com", false, "example.com", false },
    { __LINE__, "http://example.com", true, "example.com", false },
    { __LINE__, "http://example.com:443", true, "example.com", false },
    { __LINE__, "ftp://example.com", false, "example.com", false },
    { __LINE__, "example.com", false, "example.com", false },
    { __LINE__, "//example.com", false, "example.com", false },
    /* opaque or odd */
    { __LINE__, "null", false, "example.com", false },
    { __LINE__, "", false, "example.com", false },
    { __LINE__, "http://", false, "example.com", false },
    { __LINE__, "http:///login", false, "example.com", false },
    { __LINE__, "http://user@example.com", false, "example.com", false },
    { __LINE__, "http://evil.example\\@example.com", false, "example.com", false },
    { __LINE__, "http://example.com:x", false, "example.com", false },
    { __LINE__, "http://example.com:99999", false, "example.com", false },
    { __LINE__, "http://[::1", false, "[::1]", false },
    { __LINE__, "http://example.com", false, "", false },
};

static void
test_session_util_same_origin(void **state)
{
    (void) state;
    for (size_t i = 0; i < ARRAY_SIZE(origin_cases); i++) {
        const struct origin_case *t = &origin_cases[i];
        size_t len = strlen(t->s), hlen = strlen(t->host);
        /* exact-size copies: reading past LEN would show under ASan */
        char *s = malloc(len + 1), *host = malloc(hlen + 1);
        bool same;

        assert_non_null(s);
        assert_non_null(host);
        memcpy(s, t->s, len);
        memcpy(host, t->host, hlen);
        same = http_util_same_origin(s, len, t->https, host, hlen);
        free(s);
        free(host);
        if (same != t->same)
            CASE_FAIL(t->line, "'%s' for %s://%s: %d, want %d", t->s,
                      t->https ? "https" : "http", t->host, same, t->same);
    }
}

/* ---- site_nav ---- */

static void
test_session_util_site_nav(void **state)
{
    static const char tok[] = "0123456789abcdef0123456789abcdef"
                              "0123456789abcdef0123456789abcdef";
    static const char page[] = "<header>B<!--nav--><a>R</a><!--/nav--></header>x";
    char c1[128], out[512];
    long n;

    (void) state;
    snprintf(c1, sizeof(c1), "a=1; sid=%s; b=2", tok);
    assert_true(site_nav_signed_in(c1, strlen(c1)));
    snprintf(c1, sizeof(c1), "sid=%.63s", tok);                 /* short */
    assert_false(site_nav_signed_in(c1, strlen(c1)));
    snprintf(c1, sizeof(c1), "sid=%.63sA", tok);                /* upper */
    assert_false(site_nav_signed_in(c1, strlen(c1)));
    snprintf(c1, sizeof(c1), "xsid=%s", tok);                   /* other name */
    assert_false(site_nav_signed_in(c1, strlen(c1)));
    assert_false(site_nav_signed_in("", 0));
    snprintf(c1, sizeof(c1), "sid=%s", tok);                    /* LEN counts */
    assert_false(site_nav_signed_in(c1, strlen(c1) - 1));

    n = site_nav_render(page, sizeof(page) - 1, out, sizeof(out));
    assert_true(n > 0);
    out[n] = '\0';
    assert_string_equal(out, "<header>B<!--nav-->" SITE_NAV_SIGNED_IN
                             "<!--/nav--></header>x");
    /* no markers, one only, closing before opening, no room */
    assert_int_equal(site_nav_render("<header></header>", 17, out, sizeof(out)), -1);
    assert_int_equal(site_nav_render("<!--nav-->x", 11, out, sizeof(out)), -1);
    assert_int_equal(site_nav_render("<!--/nav--><!--nav-->", 21, out,
                                     sizeof(out)), -1);
    assert_int_equal(site_nav_render(page, sizeof(page) - 1, out, 40), -1);
    /* LEN bounds the search: a marker past it is not seen */
    assert_int_equal(site_nav_render(page, 25, out, sizeof(out)), -1);
}

/* ---- redis_client_backoff_next ---- */

struct backoff_case {
    int     line;
    int64_t cur, min, max;
    int64_t next;
};

static const struct backoff_case backoff_cases[] = {
    { __LINE__, 0, 1000, 32000, 1000 },         /* first failure: min */
    { __LINE__, -5, 1000, 32000, 1000 },
    { __LINE__, 1000, 1000, 32000, 2000 },
    { __LINE__, 2000, 1000, 32000, 4000 },
    { __LINE__, 16000, 1000, 32000, 32000 },
    { __LINE__, 20000, 1000, 32000, 32000 },    /* doubled past max: cap */
    { __LINE__, 32000, 1000, 32000, 32000 },
    { __LINE__, 0, 200, 1000, 200 },
    { __LINE__, 800, 200, 1000, 1000 },
    { __LINE__, 100, 1000, 32000, 1000 },       /* min > cur * 2 */
    { __LINE__, 1, 500, 32000, 500 },
    { __LINE__, 0, 1000, 1000, 1000 },          /* min == max */
    { __LINE__, 1000, 1000, 1000, 1000 },
};

static void
test_session_util_backoff_table(void **state)
{
    (void) state;
    for (size_t i = 0; i < ARRAY_SIZE(backoff_cases); i++) {
        const struct backoff_case *t = &backoff_cases[i];
        int64_t n = redis_client_backoff_next(t->cur, t->min, t->max);
        if (n != t->next)
            CASE_FAIL(t->line, "next(%lld, %lld, %lld) = %lld, want %lld",
                      (long long) t->cur, (long long) t->min,
                      (long long) t->max, (long long) n, (long long) t->next);
    }
}

/* The sequence the client walks through: 1s, 2s, 4s, ... then max forever. */
static void
test_session_util_backoff_sequence(void **state)
{
    static const int64_t want[] = { 1000, 2000, 4000, 8000, 16000, 32000,
                                    32000, 32000 };
    int64_t cur = 0;

    (void) state;
    for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
        cur = redis_client_backoff_next(cur, 1000, 32000);
        if (cur != want[i]) {
            print_error("step %zu: %lld, want %lld\n", i, (long long) cur,
                        (long long) want[i]);
            fail();
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_session_util_form_field),
        cmocka_unit_test(test_session_util_form_field_uses_len),
        cmocka_unit_test(test_session_util_form_field_cap_counts_decoded),
        cmocka_unit_test(test_session_util_cookie),
        cmocka_unit_test(test_session_util_cookie_uses_len),
        cmocka_unit_test(test_session_util_html_escape),
        cmocka_unit_test(test_session_util_html_escape_cap_zero),
        cmocka_unit_test(test_session_util_token_format),
        cmocka_unit_test(test_session_util_token_distinct),
        cmocka_unit_test(test_session_util_username_valid),
        cmocka_unit_test(test_session_util_username_charset),
        cmocka_unit_test(test_session_util_same_origin),
        cmocka_unit_test(test_session_util_site_nav),
        cmocka_unit_test(test_session_util_backoff_table),
        cmocka_unit_test(test_session_util_backoff_sequence),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
