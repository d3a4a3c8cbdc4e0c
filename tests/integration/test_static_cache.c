/* test_static_cache.c - small files are served from the worker's cache,
 * yet a file rewritten, replaced or removed on disk is answered fresh on
 * the very next request (no staleness window), over one keep-alive
 * connection so the same worker answers every time.
 * SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness.h"

static void
expect_body(struct http_conn *c, const char *path, int status, const char *body)
{
    struct http_resp r;

    assert_int_equal(http_request(c, "GET", path, NULL, &r), HTTP_OK);
    assert_int_equal(r.status, status);
    if (body != NULL) {
        assert_int_equal(r.body_len, strlen(body));
        assert_memory_equal(r.body, body, r.body_len);
    }
    http_resp_free(&r);
}

static void
test_static_cache_changes_are_seen_at_once(void **state)
{
    struct ws_server *ws = *state;
    struct timespec later[2] = { { 0, UTIME_OMIT }, { 2000000000, 7 } };
    char path[WS_PATH_MAX + 16], other[WS_PATH_MAX + 16];
    struct http_conn c;

    snprintf(path, sizeof(path), "%s/page.txt", ws->root);
    snprintf(other, sizeof(other), "%s/other.txt", ws->root);
    assert_int_equal(ws_write_text(path, "first\n"), 0);
    assert_int_equal(ws_start_conf(ws, "processes = 1\n"), 0);
    assert_int_equal(http_conn_open(&c, ws->port), 0);

    expect_body(&c, "/page.txt", 200, "first\n");
    expect_body(&c, "/page.txt", 200, "first\n");      /* a cache hit */

    assert_int_equal(ws_write_text(path, "second, longer\n"), 0);
    expect_body(&c, "/page.txt", 200, "second, longer\n");

    /* same size, new mtime */
    assert_int_equal(ws_write_text(path, "third, longer!\n"), 0);
    assert_int_equal(utimensat(AT_FDCWD, path, later, 0), 0);
    expect_body(&c, "/page.txt", 200, "third, longer!\n");

    /* replaced by rename (another inode) */
    assert_int_equal(ws_write_text(other, "fourth, longer\n"), 0);
    assert_int_equal(rename(other, path), 0);
    expect_body(&c, "/page.txt", 200, "fourth, longer\n");

    assert_int_equal(unlink(path), 0);
    expect_body(&c, "/page.txt", 404, NULL);
    http_conn_close(&c);
    ws->passed = true;
}

/* A directory's index is cached under the directory; the 301 for the
 * directory without its slash is not confused with it. */
static void
test_static_cache_directory_index(void **state)
{
    struct ws_server *ws = *state;
    char path[WS_PATH_MAX + 32];
    struct http_conn c;
    struct http_resp r;

    snprintf(path, sizeof(path), "%s/dir/index.html", ws->root);
    assert_int_equal(ws_write_text(path, "<p>index</p>\n"), 0);
    assert_int_equal(ws_start_conf(ws, "processes = 1\n"), 0);
    assert_int_equal(http_conn_open(&c, ws->port), 0);
    expect_body(&c, "/dir/", 200, "<p>index</p>\n");
    expect_body(&c, "/dir/", 200, "<p>index</p>\n");
    assert_int_equal(http_request(&c, "GET", "/dir", NULL, &r), HTTP_OK);
    assert_int_equal(r.status, 301);
    assert_string_equal(http_header(&r, "Location"), "/dir/");
    http_resp_free(&r);
    assert_int_equal(ws_write_text(path, "<p>new index</p>\n"), 0);
    expect_body(&c, "/dir/", 200, "<p>new index</p>\n");
    http_conn_close(&c);
    ws->passed = true;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_static_cache_changes_are_seen_at_once,
                                        ws_fixture_setup, ws_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_static_cache_directory_index,
                                        ws_fixture_setup, ws_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
