/* test_limits.c - a low RLIMIT_NOFILE caps what each worker is given
 * (2 descriptors per connection): the master answers 503 beyond it instead
 * of passing descriptors the worker cannot receive, and its load counts do
 * not drift (once connections close, exactly the capacity is back).
 * SPDX-License-Identifier: MIT */
#include <errno.h>
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

/* How CLIENTS connections, opened one after the other, were answered. */
struct round {
    int ok;                         /* 200 */
    int busy;                       /* 503 with Retry-After */
    int other;                      /* anything else, no answer included */
};

/* Open N connections to PORT, each sending GET /a.txt and reading its
 * answer before the next connects (keeps the order stable). They stay
 * open: the caller closes them with close_all(). */
static struct round
open_round(int port, struct http_conn *c, int n)
{
    struct round t = { 0, 0, 0 };
    struct http_resp r;

    for (int i = 0; i < n; i++) {
        if (http_conn_open(&c[i], port) == -1) {
            fail_msg("connection %d: %s", i, http_strerror());
        }
        if (http_send_request(&c[i], "GET", "/a.txt", NULL) != HTTP_OK
            || http_read_response(&c[i], false, &r) != HTTP_OK) {
            t.other++;
            continue;
        }
        if (r.status == 200)
            t.ok++;
        else if (r.status == 503 && http_header(&r, "Retry-After") != NULL)
            t.busy++;
        else
            t.other++;
        http_resp_free(&r);
    }
    return t;
}

static void
close_all(struct http_conn *c, int n)
{
    for (int i = 0; i < n; i++)
        http_conn_close(&c[i]);
}

/* Repeat rounds of CLIENTS connections until one gets exactly CAPACITY
 * answers 200 (and 503 for the rest), at most WS_WAIT_MS; C holds that
 * round's connections, still open. Why not one round: the master counts
 * a connection until its worker reports it closed, and reports are batched
 * and go out a few ms after the close, so a round right after other
 * connections closed may find a slot still counted. A count that drifted
 * never gets the full capacity back, and no round may ever exceed it. */
static void
wait_full_capacity(struct ws_server *ws, struct http_conn *c,
                   const char *when)
{
    int64_t deadline = ws_now_ms() + WS_WAIT_MS;
    int rounds = 0;

    for (;;) {
        struct round t;

        /* the worker has seen every close (its report is on the way) */
        if (ws_wait_tcp_server_conns(ws->port, 0, WS_WAIT_MS) != 0)
            fail_msg("%s: the server still holds closed connections", when);
        t = open_round(ws->port, c, CLIENTS);
        rounds++;
        fprintf(stderr, "%s, round %d: %d x 200, %d x 503, %d other\n",
                when, rounds, t.ok, t.busy, t.other);
        if (t.other != 0 || t.ok > CAPACITY) {
            fail_msg("%s: %d x 200, %d x 503, %d other; want at most %d "
                     "x 200 and only 503 beyond", when, t.ok, t.busy,
                     t.other, CAPACITY);
        }
        if (t.ok == CAPACITY)
            return;
        close_all(c, CLIENTS);
        if (ws_now_ms() >= deadline) {
            fail_msg("%s: no round got all %d slots within %d ms (last "
                     "%d)", when, CAPACITY, WS_WAIT_MS, t.ok);
        }
    }
}

static void
test_limits_nofile_caps_connections(void **state)
{
    struct ws_server *ws = *state;
    struct rlimit low = { NOFILE, NOFILE };
    struct http_conn c[CLIENTS];

    if (getrlimit(RLIMIT_NOFILE, &saved) != 0)
        fail_msg("getrlimit failed: %s", strerror(errno));
    /* the server inherits the limit; it may raise soft to hard, so both.
     * Lowering is always allowed: a failure here is a broken test box */
    if (setrlimit(RLIMIT_NOFILE, &low) != 0)
        fail_msg("setrlimit(RLIMIT_NOFILE, %d) failed: %s", NOFILE,
                 strerror(errno));
    assert_int_equal(ws_start_conf(ws, "processes = 1\n"), 0);
    /* root may raise it back; the test itself needs few descriptors */
    setrlimit(RLIMIT_NOFILE, &saved);
    assert_true(ws_wait_file_contains(ws->error_log,
                                      "RLIMIT_NOFILE is too low", WS_WAIT_MS));

    /* the readiness probe was a connection too */
    wait_full_capacity(ws, c, "after the start");

    /* closing them frees the slots: full capacity is there again */
    close_all(c, CLIENTS);
    wait_full_capacity(ws, c, "after closing them");
    close_all(c, CLIENTS);
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
