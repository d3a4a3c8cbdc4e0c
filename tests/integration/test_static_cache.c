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

/* The running server validates its cache with inotify: many hits in a
 * row make at most one fstatat() per entry and second (the once-a-second
 * check), where a server checking every hit would make one per hit; the
 * worker's exit line counts both. A directory renamed on the path is seen
 * at once as well. */
static void
test_static_cache_watched_by_inotify(void **state)
{
    struct ws_server *ws = *state;
    char path[WS_PATH_MAX + 32], moved[WS_PATH_MAX + 32], *log, *line;
    unsigned long hits = 0, misses = 0, checks = 0;
    struct http_conn c;
    int64_t t0, elapsed_ms;

    snprintf(path, sizeof(path), "%s/d/page.txt", ws->root);
    assert_int_equal(ws_write_text(path, "one\n"), 0);
    assert_int_equal(ws_start_conf(ws, "processes = 1\nlog_level = info\n"), 0);
    assert_int_equal(http_conn_open(&c, ws->port), 0);
    t0 = ws_now_ms();
    for (int i = 0; i < 200; i++)
        expect_body(&c, "/d/page.txt", 200, "one\n");
    elapsed_ms = ws_now_ms() - t0;

    /* the directory goes, another takes its name */
    snprintf(moved, sizeof(moved), "%s/old", ws->root);
    snprintf(path, sizeof(path), "%s/d", ws->root);
    assert_int_equal(rename(path, moved), 0);
    snprintf(path, sizeof(path), "%s/d/page.txt", ws->root);
    assert_int_equal(ws_write_text(path, "two\n"), 0);
    expect_body(&c, "/d/page.txt", 200, "two\n");
    http_conn_close(&c);

    assert_int_equal(ws_stop(ws), 0);
    log = ws_read_file(ws->error_log, NULL);
    assert_non_null(log);
    line = strstr(log, "file cache: ");
    if (line == NULL
        || sscanf(line, "file cache: %lu hits, %lu misses, %lu fstatat() checks",
                  &hits, &misses, &checks) != 3)
        fail_msg("no file cache line in the worker's log:\n%s", log);
    free(log);
    fprintf(stderr, "%lu hits, %lu misses, %lu fstatat() checks in %lld ms\n",
            hits, misses, checks, (long long) elapsed_ms);
    assert_true(hits >= 199);
    assert_true(checks <= (unsigned long) (elapsed_ms / 1000) + 2);
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
        cmocka_unit_test_setup_teardown(test_static_cache_watched_by_inotify,
                                        ws_fixture_setup, ws_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
