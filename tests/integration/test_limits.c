/* test_limits.c - a low RLIMIT_NOFILE caps what each worker is given
 * (2 descriptors per connection): the master answers 503 beyond it instead
 * of passing descriptors the worker cannot receive, and its load counts do
 * not drift (the server serves normally afterwards).
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness.h"

#define NOFILE   64                 /* capacity: (64 - 32) / 2 = 16 */
#define CAPACITY 16
#define CLIENTS  40

static struct rlimit saved;

static int
setup(void **state)
{
    struct ws_server *ws;
    char path[WS_PATH_MAX + 32];

    if (ws_fixture_setup(state) == -1)
        return -1;
    ws = *state;
    snprintf(path, sizeof(path), "%s/a.txt", ws->root);
    return ws_write_text(path, "a\n");
}

static void
test_limits_nofile_caps_connections(void **state)
{
    struct ws_server *ws = *state;
    struct rlimit low = { NOFILE, NOFILE };
    struct http_conn c[CLIENTS];
    struct http_resp r;
    int ok = 0, busy = 0, other = 0;

    if (getrlimit(RLIMIT_NOFILE, &saved) != 0)
        fail_msg("getrlimit failed");
    /* the server inherits the limit; it may raise soft to hard, so both */
    if (setrlimit(RLIMIT_NOFILE, &low) != 0)
        skip();
    assert_int_equal(ws_start_conf(ws, "processes = 1\n"), 0);
    /* root may raise it back; the test itself needs few descriptors */
    setrlimit(RLIMIT_NOFILE, &saved);
    /* the readiness probe was a connection too; the worker reports it
     * finished within a few ms (load reports are batched) */
    ws_sleep_ms(300);

    for (int i = 0; i < CLIENTS; i++) {
        assert_int_equal(http_conn_open(&c[i], ws->port), 0);
        assert_int_equal(http_send_request(&c[i], "GET", "/a.txt", NULL), HTTP_OK);
        /* read each answer before the next connect: keeps the order stable */
        if (http_read_response(&c[i], false, &r) != HTTP_OK) {
            other++;
            continue;
        }
        if (r.status == 200)
            ok++;
        else if (r.status == 503 && http_header(&r, "Retry-After") != NULL)
            busy++;
        else
            other++;
        http_resp_free(&r);
    }
    fprintf(stderr, "%d x 200, %d x 503, %d other\n", ok, busy, other);
    assert_int_equal(other, 0);
    assert_int_equal(ok, CAPACITY);
    assert_int_equal(busy, CLIENTS - CAPACITY);
    assert_true(ws_file_contains(ws->error_log, "RLIMIT_NOFILE is too low"));

    /* closing them frees the slots: full capacity is there again */
    for (int i = 0; i < CLIENTS; i++)
        http_conn_close(&c[i]);
    ws_sleep_ms(300);
    for (int i = 0; i < CAPACITY; i++) {
        assert_int_equal(http_conn_open(&c[i], ws->port), 0);
        assert_int_equal(http_request(&c[i], "GET", "/a.txt", NULL, &r), HTTP_OK);
        assert_int_equal(r.status, 200);
        http_resp_free(&r);
    }
    for (int i = 0; i < CAPACITY; i++)
        http_conn_close(&c[i]);
    ws->passed = true;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_limits_nofile_caps_connections,
                                        setup, ws_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
