/* test_forms.c - forms that answer in place (issue 14.3), with the site's
 * own html/ as the document root and a private Redis:
 * - a refused login or registration shows the form again, the message
 *   beside the field it is about, the username kept (escaped);
 * - a new account lands on /login.html#created, a logout on /#signed-out
 *   (or #signed-out-everywhere), whose pages carry those notices;
 * - a site without the form page gets the plain error page.
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static void
fx_start(struct ws_redis_fx *f, bool site, const char *extra)
{
    char conf[2048];

    assert_int_equal(redis_start(&f->rs, f->ws.dir, NULL), 0);
    snprintf(conf, sizeof(conf),
             "processes = 1\n"
             "redis_port = %d\n"
             "%s%s%s%s", f->rs.port, site ? "root = " : "",
             site ? ws_src() : "", site ? "/html\n" : "", extra ? extra : "");
    assert_int_equal(ws_start_conf(&f->ws, conf), 0);
}

/* POST a form BODY to PATH (from SRC); the answer in *R. */
static void
post(int port, const char *src, const char *path, const char *body,
     struct http_resp *r)
{
    if (http_request_once(port, src, "POST", path, NULL, body, r) != HTTP_OK)
        fail_msg("POST %s: %s", path, http_strerror());
}

/* BODY is the form page PAGE_ACTION ("/login") again, with MESSAGE right
 * after the input named AFTER ("username", "password", or NULL: before
 * the first input), and the username input holding VALUE (NULL: none). */
static void
assert_form_again(const struct http_resp *r, const char *page_action,
                  const char *message, const char *after, const char *value)
{
    char action[64], msg[512], val[256];
    const char *form, *m, *user, *pass, *anchor;

    snprintf(action, sizeof(action), "<form method=\"post\" action=\"%s\">",
             page_action);
    snprintf(msg, sizeof(msg), "<p class=\"message\" role=\"alert\">%s</p>",
             message);
    form = strstr(r->body, action);
    m = strstr(r->body, msg);
    user = strstr(r->body, "<input name=\"username\"");
    pass = strstr(r->body, "<input name=\"password\"");
    if (form == NULL || m == NULL || user == NULL || pass == NULL)
        fail_msg("not the form %s with \"%s\":\n%s", page_action, message,
                 r->body);
    anchor = after == NULL ? form : strcmp(after, "username") == 0 ? user : pass;
    /* the message sits after its anchor and before the next input */
    assert_true(m > anchor);
    if (after == NULL)
        assert_true(m < user);
    else if (strcmp(after, "username") == 0)
        assert_true(m < pass);
    assert_non_null(strstr(r->body, "<link rel=\"stylesheet\" href=\"/style.css\">"));
    assert_string_equal(http_header(r, "Content-Type"), "text/html; charset=utf-8");
    assert_non_null(strstr(http_header(r, "Cache-Control"), "no-store"));
    if (value != NULL) {
        snprintf(val, sizeof(val), "<input name=\"username\" value=\"%s\" ",
                 value);
        if (strstr(r->body, val) == NULL)
            fail_msg("username not kept as %s:\n%.600s", value, user);
    } else {
        assert_null(strstr(user, "value="));
    }
}

static void
test_forms_login_refused_in_place(void **state)
{
    struct ws_redis_fx *f = *state;
    struct http_resp r;
    int port;

    fx_start(f, true, "login_max_failures = 2\n");
    port = f->ws.port;
    post(port, "127.0.0.1", "/register", "username=ines&password=ines-password", &r);
    assert_int_equal(r.status, 303);
    http_resp_free(&r);

    /* wrong password: the message above the form, the name kept */
    post(port, "127.0.0.2", "/login", "username=ines&password=not-hers-at-all", &r);
    assert_int_equal(r.status, 401);
    assert_non_null(http_header(&r, "WWW-Authenticate"));
    assert_null(http_header(&r, "Set-Cookie"));
    assert_form_again(&r, "/login", "Wrong username or password.", NULL, "ines");
    http_resp_free(&r);

    /* a name that cannot be one: beside the username field */
    post(port, "127.0.0.2", "/login", "username=i&password=ines-password", &r);
    assert_int_equal(r.status, 400);
    assert_form_again(&r, "/login", "A username has 3 to 32 letters, digits, "
                      "dots, dashes or underscores.", "username", "i");
    http_resp_free(&r);
    /* ... and it stays open: 400 from a form is not a framing error */

    /* a short password: beside the password field, the name kept */
    post(port, "127.0.0.2", "/login", "username=ines&password=short", &r);
    assert_int_equal(r.status, 400);
    assert_form_again(&r, "/login", "A password has 8 to 128 characters.",
                      "password", "ines");
    http_resp_free(&r);

    /* throttled: the form again, with when to come back */
    post(port, "127.0.0.2", "/login", "username=ines&password=not-hers-either", &r);
    assert_int_equal(r.status, 401);
    http_resp_free(&r);
    post(port, "127.0.0.2", "/login", "username=ines&password=ines-password", &r);
    assert_int_equal(r.status, 429);
    assert_non_null(http_header(&r, "Retry-After"));
    assert_form_again(&r, "/login", "Too many failed logins came from your "
                      "address. Please try again in 15 minutes.", NULL, "ines");
    http_resp_free(&r);
    f->ws.passed = true;
}

static void
test_forms_register_refused_in_place(void **state)
{
    struct ws_redis_fx *f = *state;
    struct http_resp r;
    int port;

    fx_start(f, true, NULL);
    port = f->ws.port;
    post(port, "127.0.0.1", "/register", "username=jon&password=jons-password", &r);
    assert_int_equal(r.status, 303);
    http_resp_free(&r);

    post(port, "127.0.0.1", "/register", "username=jon&password=another-password", &r);
    assert_int_equal(r.status, 409);
    assert_form_again(&r, "/register", "That username is taken: pick another "
                      "one, or log in if it is yours.", "username", "jon");
    http_resp_free(&r);

    /* markup in a refused name comes back escaped, never as markup */
    post(port, "127.0.0.1", "/register",
         "username=%22%3E%3Cscript%3Ex%3C%2Fscript%3E&password=long-enough-pw", &r);
    assert_int_equal(r.status, 400);
    assert_form_again(&r, "/register", "A username has 3 to 32 letters, "
                      "digits, dots, dashes or underscores.", "username",
                      "&quot;&gt;&lt;script&gt;x&lt;/script&gt;");
    assert_null(strstr(r.body, "<script>"));
    http_resp_free(&r);

    post(port, "127.0.0.1", "/register", "username=kim&password=1234567", &r);
    assert_int_equal(r.status, 400);
    assert_form_again(&r, "/register", "A password has 8 to 128 characters.",
                      "password", "kim");
    http_resp_free(&r);
    f->ws.passed = true;
}

/* Success lands on a page that says so: the notice is in the page, shown
 * by CSS :target for the fragment the redirect names. */
static void
test_forms_confirmations(void **state)
{
    struct ws_redis_fx *f = *state;
    struct http_resp r;
    char cookie[128], extra[512];
    const char *sc;
    struct http_conn c;
    int port;

    fx_start(f, true, NULL);
    port = f->ws.port;
    post(port, "127.0.0.1", "/register", "username=lea&password=leas-password", &r);
    assert_int_equal(r.status, 303);
    assert_string_equal(http_header(&r, "Location"), "/login.html#created");
    http_resp_free(&r);
    assert_int_equal(http_get(port, "/login.html", &r), HTTP_OK);
    assert_non_null(strstr(r.body, "<p class=\"notice\" id=\"created\">"));
    http_resp_free(&r);

    post(port, "127.0.0.1", "/login", "username=lea&password=leas-password", &r);
    assert_int_equal(r.status, 303);
    sc = http_header(&r, "Set-Cookie");
    assert_non_null(sc);
    snprintf(cookie, sizeof(cookie), "%.68s", sc);      /* "sid=" + 64 */
    http_resp_free(&r);

    snprintf(extra, sizeof(extra), "Connection: close\r\nCookie: %s\r\n"
             "Content-Type: application/x-www-form-urlencoded\r\n"
             "Content-Length: 0\r\n", cookie);
    assert_int_equal(http_conn_open(&c, port), 0);
    assert_int_equal(http_request(&c, "POST", "/logout", extra, &r), HTTP_OK);
    assert_int_equal(r.status, 303);
    assert_string_equal(http_header(&r, "Location"), "/#signed-out");
    http_resp_free(&r);
    http_conn_close(&c);
    assert_int_equal(http_get(port, "/", &r), HTTP_OK);
    assert_non_null(strstr(r.body, "<p class=\"notice\" id=\"signed-out\">"));
    assert_non_null(strstr(r.body, "id=\"signed-out-everywhere\""));
    http_resp_free(&r);
    /* the stylesheet shows a notice only when it is the target */
    assert_int_equal(http_get(port, "/style.css", &r), HTTP_OK);
    assert_non_null(strstr(r.body, ".notice:target { display: block; }"));
    http_resp_free(&r);
    f->ws.passed = true;
}

/* A root without the form pages: refusals get the error pages. */
static void
test_forms_without_site_pages(void **state)
{
    struct ws_redis_fx *f = *state;
    struct http_resp r;

    fx_start(f, false, NULL);
    post(f->ws.port, "127.0.0.1", "/register", "username=x&password=xx", &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "<h1>400 Bad Request</h1>"));
    assert_null(strstr(r.body, "class=\"message\""));
    http_resp_free(&r);
    f->ws.passed = true;
}

/* GET PATH with header lines HDRS; the answer in *R. */
static void
get(int port, const char *path, const char *hdrs, struct http_resp *r)
{
    if (http_request_once(port, NULL, "GET", path, hdrs, NULL, r) != HTTP_OK)
        fail_msg("GET %s: %s", path, http_strerror());
}

#define SID "sid=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* The bar of a static page: "Register / Log in" without a session cookie,
 * "My page / Log out" with one, no script either way; the signed-in page
 * is its own representation (ETag, Vary: Cookie, private, uncompressed). */
static void
test_forms_signed_in_bar(void **state)
{
    struct ws_redis_fx *f = *state;
    struct http_resp out, in, r;
    char hdr[256], etag[128];
    const char *pages[] = { "/", "/login.html", "/register.html" };

    fx_start(f, true, NULL);
    for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
        get(f->ws.port, pages[i], "", &out);
        assert_int_equal(out.status, 200);
        get(f->ws.port, pages[i], "Accept-Encoding: gzip, br\r\n"
            "Cookie: theme=dark; " SID "\r\n", &in);
        assert_int_equal(in.status, 200);

        assert_non_null(strstr(out.body, "<a href=\"/register.html\">Register</a>"
                                         "<a href=\"/login.html\">Log in</a>"));
        assert_null(strstr(out.body, "action=\"/logout\""));
        /* caches ask each time, so none hands the signed-out page to a
         * signed-in visitor (the two have their own ETags) */
        assert_string_equal(http_header(&out, "Cache-Control"), "no-cache");

        assert_non_null(strstr(in.body, "<!--nav--><a href=\"/welcome\">My page</a>"
                               "<form class=\"nav-form\" method=\"post\" "
                               "action=\"/logout\"><button type=\"submit\">"
                               "Log out</button></form><!--/nav--></header>"));
        assert_null(strstr(in.body, ">Register</a><a href=\"/login.html\">Log in"));
        assert_null(http_header(&in, "Content-Encoding"));
        assert_string_equal(http_header(&in, "Vary"), "Accept-Encoding");
        assert_string_equal(http_header(&in, "Cache-Control"), "private, no-cache");
        assert_true(strcmp(http_header(&in, "ETag"), http_header(&out, "ETag")) != 0);
        assert_int_equal((long) in.body_len,
                         strtol(http_header(&in, "Content-Length"), NULL, 10));
        snprintf(etag, sizeof(etag), "%s", http_header(&in, "ETag"));
        http_resp_free(&out);
        http_resp_free(&in);

        /* revalidation of the signed-in page */
        snprintf(hdr, sizeof(hdr), "Cookie: " SID "\r\nIf-None-Match: %s\r\n",
                 etag);
        get(f->ws.port, pages[i], hdr, &r);
        assert_int_equal(r.status, 304);
        http_resp_free(&r);
    }
    /* something that is not a session token: the signed-out bar */
    get(f->ws.port, "/", "Cookie: sid=nonsense\r\n", &r);
    assert_non_null(strstr(r.body, ">Register</a>"));
    http_resp_free(&r);
    /* not HTML: untouched, cacheable */
    get(f->ws.port, "/style.css", "Cookie: " SID "\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_null(http_header(&r, "Cache-Control"));
    http_resp_free(&r);
    /* a signed-out revalidation of the signed-in copy gets the page
     * anew, not a 304 */
    snprintf(hdr, sizeof(hdr), "If-None-Match: %s\r\n", etag);
    get(f->ws.port, "/register.html", hdr, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, ">Register</a>"));
    http_resp_free(&r);
    f->ws.passed = true;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, ws_redis_fixture_setup, \
                                              ws_redis_fixture_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_forms_login_refused_in_place),
        T(test_forms_register_refused_in_place),
        T(test_forms_confirmations),
        T(test_forms_without_site_pages),
        T(test_forms_signed_in_bar),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
