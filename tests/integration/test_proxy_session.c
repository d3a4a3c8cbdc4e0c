/* test_proxy_session.c - the session routes behind a trusted proxy, with a
 * private redis-server: a login that a trusted proxy took over https gets
 * a Secure cookie (cookie_secure = auto), and failed logins are throttled
 * per client that X-Forwarded-For names, not per proxy, so one client's
 * failures do not lock out another behind the same proxy.
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "proxy_client.h"

#define PROXY_ADDR   "127.0.0.2"
#define MAX_FAILURES 3

static void
start(struct ws_redis_fx *f)
{
    char conf[512];

    assert_int_equal(redis_start(&f->rs, f->ws.dir, NULL), 0);
    snprintf(conf, sizeof(conf), "processes = 1\nredis_port = %d\n"
             "trusted_proxies = " PROXY_ADDR "/32\n"
             "login_max_failures = %d\n", f->rs.port, MAX_FAILURES);
    assert_int_equal(ws_start_conf(&f->ws, conf), 0);
}

/* POST PATH with BODY from SRC, with EXTRA header lines; the status, and
 * Set-Cookie (or "") into COOKIE_LINE. */
static int
post_from(struct ws_redis_fx *f, const char *src, const char *path,
          const char *body, const char *extra, char *cookie_line, size_t cap)
{
    struct http_conn c;
    struct http_resp r;
    int status;

    assert_int_equal(pc_connect(&c, src, f->ws.port), 0);
    assert_int_equal(pc_post_form(&c, path, body, NULL, extra, &r), HTTP_OK);
    status = r.status;
    if (cookie_line != NULL) {
        const char *ck = http_header(&r, "Set-Cookie");
        snprintf(cookie_line, cap, "%s", ck != NULL ? ck : "");
    }
    http_resp_free(&r);
    http_conn_close(&c);
    return status;
}

static void
test_proxy_session_secure_cookie(void **state)
{
    struct ws_redis_fx *f = *state;
    static const char form[] = "username=sam&password=sams-password";
    char ck[512];

    start(f);
    assert_int_equal(post_from(f, NULL, "/register", form, NULL, NULL, 0), 303);
    /* the proxy saw https: Secure */
    assert_int_equal(post_from(f, PROXY_ADDR, "/login", form,
                               "X-Forwarded-Proto: https\r\n", ck, sizeof(ck)),
                     303);
    if (strncmp(ck, "sid=", 4) != 0 || strstr(ck, "; Secure") == NULL) {
        print_error("login via a trusted https hop: Set-Cookie '%s'\n", ck);
        fail();
    }
    /* plain http through the proxy, or the header from anyone else: not */
    assert_int_equal(post_from(f, PROXY_ADDR, "/login", form,
                               "X-Forwarded-Proto: http\r\n", ck, sizeof(ck)),
                     303);
    assert_non_null(strstr(ck, "sid="));
    assert_null(strstr(ck, "Secure"));
    assert_int_equal(post_from(f, "127.0.0.7", "/login", form,
                               "X-Forwarded-Proto: https\r\n", ck, sizeof(ck)),
                     303);
    assert_non_null(strstr(ck, "sid="));
    assert_null(strstr(ck, "Secure"));
    f->ws.passed = true;
}

static void
test_proxy_session_throttle_per_forwarded_client(void **state)
{
    struct ws_redis_fx *f = *state;
    static const char good[] = "username=dana&password=danas-password";
    static const char bad[] = "username=dana&password=not-the-password";
    static const char from_a[] = "X-Forwarded-For: 192.0.2.101\r\n";
    static const char from_b[] = "X-Forwarded-For: 192.0.2.102\r\n";
    int st = 0;

    start(f);
    assert_int_equal(post_from(f, NULL, "/register", good, NULL, NULL, 0), 303);
    /* client A fails until it is throttled */
    for (int i = 0; i < MAX_FAILURES + 2 && st != 429; i++)
        st = post_from(f, PROXY_ADDR, "/login", bad, from_a, NULL, 0);
    assert_int_equal(st, 429);
    assert_int_equal(post_from(f, PROXY_ADDR, "/login", good, from_a, NULL, 0),
                     429);
    /* client B, behind the same proxy, is not */
    assert_int_equal(post_from(f, PROXY_ADDR, "/login", good, from_b, NULL, 0),
                     303);
    f->ws.passed = true;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_proxy_session_secure_cookie,
            ws_redis_fixture_setup, ws_redis_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_proxy_session_throttle_per_forwarded_client,
            ws_redis_fixture_setup, ws_redis_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
