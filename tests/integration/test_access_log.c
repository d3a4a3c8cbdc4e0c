/* test_access_log.c - access_log writes one combined-format line per
 * response (status, body bytes, referer, user agent), flushes by itself
 * (no traffic needed), on graceful exit, and reopens on SIGUSR1.
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness.h"

static int
setup(void **state)
{
    struct ws_server *ws;
    char path[WS_PATH_MAX + 32];

    if (ws_fixture_setup(state) == -1)
        return -1;
    ws = *state;
    snprintf(path, sizeof(path), "%s/page.html", ws->root);
    return ws_write_text(path, "0123456789");   /* 10 bytes */
}

static void
start_with_log(struct ws_server *ws, char *log, size_t len)
{
    char conf[WS_PATH_MAX * 2];

    snprintf(log, len, "%s/access.log", ws->dir);
    snprintf(conf, sizeof(conf), "processes = 1\naccess_log = %s\n", log);
    assert_int_equal(ws_start_conf(ws, conf), 0);
}

static void
request(struct ws_server *ws, const char *method, const char *path,
        const char *extra, int want)
{
    struct http_conn c;
    struct http_resp r;

    assert_int_equal(http_conn_open(&c, ws->port), 0);
    assert_int_equal(http_request(&c, method, path, extra, &r), HTTP_OK);
    assert_int_equal(r.status, want);
    http_resp_free(&r);
    http_conn_close(&c);
}

static void
test_access_log_combined_format(void **state)
{
    struct ws_server *ws = *state;
    char log[WS_PATH_MAX];

    start_with_log(ws, log, sizeof(log));
    request(ws, "GET", "/page.html",
            "Referer: http://example.test/from\r\n"
            "User-Agent: agent \"quoted\"/1.0\r\n", 200);
    request(ws, "GET", "/missing?x=1", "User-Agent: t\r\n", 404);
    request(ws, "HEAD", "/page.html", "User-Agent: t\r\n", 200);

    /* no traffic and no exit needed: the buffer goes out by itself (about
     * once a second; the deadline only bounds a hang) */
    assert_true(ws_wait_file_contains(log, "\"HEAD /page.html HTTP/1.1\" 200 0",
                                      WS_WAIT_MS));
    assert_true(ws_file_contains(log,
        "\"GET /page.html HTTP/1.1\" 200 10 \"http://example.test/from\" "
        "\"agent \\\"quoted\\\"/1.0\""));
    assert_true(ws_file_contains(log, "\"GET /missing?x=1 HTTP/1.1\" 404 "));
    assert_true(ws_file_contains(log, "127.0.0.1 - - ["));
    ws->passed = true;
}

static void
test_access_log_flushed_on_quit(void **state)
{
    struct ws_server *ws = *state;
    char log[WS_PATH_MAX];
    int status;

    start_with_log(ws, log, sizeof(log));
    request(ws, "GET", "/page.html?last", NULL, 200);
    assert_int_equal(ws_signal(ws, SIGQUIT), 0);
    assert_int_equal(ws_wait_exit(ws, WS_WAIT_MS, &status), 0);
    assert_true(ws_file_contains(log, "\"GET /page.html?last HTTP/1.1\" 200 10"));
    ws->passed = true;
}

static void
test_access_log_reopened_on_usr1(void **state)
{
    struct ws_server *ws = *state;
    char log[WS_PATH_MAX], rotated[WS_PATH_MAX + 8];

    start_with_log(ws, log, sizeof(log));
    request(ws, "GET", "/page.html?before", NULL, 200);
    assert_true(ws_wait_file_contains(log, "?before", WS_WAIT_MS));
    snprintf(rotated, sizeof(rotated), "%s.1", log);
    assert_int_equal(rename(log, rotated), 0);
    assert_int_equal(ws_signal(ws, SIGUSR1), 0);
    /* the reopen is asynchronous: the (only) worker creates the new file */
    assert_true(ws_wait_exists(log, WS_WAIT_MS));
    request(ws, "GET", "/page.html?after", NULL, 200);
    assert_true(ws_wait_file_contains(log, "?after", WS_WAIT_MS));
    assert_false(ws_file_contains(rotated, "?after"));
    ws->passed = true;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_access_log_combined_format, setup, ws_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_access_log_flushed_on_quit, setup, ws_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_access_log_reopened_on_usr1, setup, ws_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
