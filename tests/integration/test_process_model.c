/* test_process_model.c - master + 3 pre-forked workers: serving, balance of
 * keep-alive connections over workers, respawn after kill -9.
 * Each test starts its own `webserver -c CONF 127.0.0.1 0 3` in a temp dir.
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "harness.h"

#define NWORKERS   3
#define NCONNS     300
#define FILE_SIZE  (100 * 1024)
#define FILE_SEED  42
#define INDEX_TEXT "<html><body>process model</body></html>\n"

/* Document root + `webserver -c CONF 127.0.0.1 0 3`; returns the workers. */
static void
start_three(struct ws_server *ws, pid_t *kids)
{
    const char *args[] = { "-c", ws->conf, "127.0.0.1", "0", "3", NULL };
    char path[WS_PATH_MAX + 64];
    int n;

    snprintf(path, sizeof(path), "%s/index.html", ws->root);
    assert_int_equal(ws_write_text(path, INDEX_TEXT), 0);
    snprintf(path, sizeof(path), "%s/data/random.bin", ws->root);
    assert_int_equal(ws_write_random_file(path, FILE_SIZE, FILE_SEED), 0);
    assert_int_equal(ws_write_config(ws, "# test_process_model\n"), 0);
    assert_int_equal(ws_start(ws, args), 0);

    n = ws_wait_children(ws->pid, NWORKERS, WS_WAIT_MS, kids);
    if (n != NWORKERS) {
        fprintf(stderr, "master %d has %d children, want %d\n",
                (int) ws->pid, n, NWORKERS);
    }
    assert_int_equal(n, NWORKERS);
}

static void
expect_index(int port)
{
    struct http_resp r;
    int rc = http_get(port, "/index.html", &r);

    if (rc != HTTP_OK) {
        fprintf(stderr, "GET /index.html: %s\n", http_strerror());
    }
    assert_int_equal(rc, HTTP_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, strlen(INDEX_TEXT));
    assert_memory_equal(r.body, INDEX_TEXT, r.body_len);
    http_resp_free(&r);
}

static void
test_process_model_three_workers(void **state)
{
    struct ws_server *ws = *state;
    pid_t kids[WS_MAX_PROCS];

    start_three(ws, kids);
    for (int i = 0; i < NWORKERS; i++) {
        assert_true(kids[i] != ws->pid);
        assert_true(ws_pid_alive(kids[i]));
    }
    expect_index(ws->port);
    ws->passed = true;
}

static void
test_process_model_serves_file_bytes(void **state)
{
    struct ws_server *ws = *state;
    pid_t kids[WS_MAX_PROCS];
    struct http_resp r;
    struct http_conn c;
    char *expect = malloc(FILE_SIZE);
    const char *cl;

    assert_non_null(expect);
    ws_random_fill(expect, FILE_SIZE, FILE_SEED);
    start_three(ws, kids);

    /* one-shot */
    assert_int_equal(http_get(ws->port, "/data/random.bin", &r), HTTP_OK);
    assert_int_equal(r.status, 200);
    cl = http_header(&r, "content-length");
    assert_non_null(cl);
    assert_string_equal(cl, "102400");
    assert_int_equal(r.body_len, FILE_SIZE);
    assert_memory_equal(r.body, expect, FILE_SIZE);
    http_resp_free(&r);

    assert_int_equal(http_get(ws->port, "/no/such/file.bin", &r), HTTP_OK);
    assert_int_equal(r.status, 404);
    http_resp_free(&r);

    /* the same on one keep-alive connection: framing must be exact */
    assert_int_equal(http_conn_open(&c, ws->port), 0);
    assert_int_equal(http_request(&c, "GET", "/data/random.bin", NULL, &r),
                     HTTP_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, FILE_SIZE);
    assert_memory_equal(r.body, expect, FILE_SIZE);
    assert_true(r.keepalive);
    http_resp_free(&r);
    assert_int_equal(http_request(&c, "GET", "/missing.bin", NULL, &r),
                     HTTP_OK);
    assert_int_equal(r.status, 404);
    http_resp_free(&r);
    assert_int_equal(http_request(&c, "HEAD", "/data/random.bin", NULL, &r),
                     HTTP_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 0);
    http_resp_free(&r);
    assert_int_equal(http_request(&c, "GET", "/index.html", NULL, &r),
                     HTTP_OK);
    assert_int_equal(r.status, 200);
    assert_memory_equal(r.body, INDEX_TEXT, strlen(INDEX_TEXT));
    http_resp_free(&r);
    http_conn_close(&c);

    free(expect);
    ws->passed = true;
}

static void
test_process_model_balances_keepalive_connections(void **state)
{
    struct ws_server *ws = *state;
    pid_t kids[WS_MAX_PROCS];
    int before[NWORKERS], after[NWORKERS], delta[NWORKERS];
    int master_before, master_after, sum = 0, i;
    struct http_conn *conns = calloc(NCONNS, sizeof(*conns));
    double mean = (double) NCONNS / NWORKERS;

    assert_non_null(conns);
    start_three(ws, kids);
    /* the readiness probe's connection may still be open in a worker:
     * take the baseline once the server holds no connection */
    assert_int_equal(ws_wait_tcp_server_conns(ws->port, 0, WS_WAIT_MS), 0);
    master_before = ws_count_sockets(ws->pid);
    for (i = 0; i < NWORKERS; i++) {
        before[i] = ws_count_sockets(kids[i]);
        assert_true(before[i] >= 0);
    }

    for (i = 0; i < NCONNS; i++) {
        struct http_resp r;
        int rc;

        conns[i].fd = -1;
        if (http_conn_open(&conns[i], ws->port) == -1) {
            fail_msg("connection %d: %s", i, http_strerror());
        }
        rc = http_request(&conns[i], "GET", "/index.html", NULL, &r);
        if (rc != HTTP_OK) {
            fail_msg("GET on connection %d: %s", i, http_strerror());
        }
        assert_int_equal(r.status, 200);
        assert_true(r.keepalive);
        http_resp_free(&r);
    }

    master_after = ws_count_sockets(ws->pid);
    for (i = 0; i < NWORKERS; i++) {
        after[i] = ws_count_sockets(kids[i]);
        delta[i] = after[i] - before[i];
        sum += delta[i];
        fprintf(stderr, "worker %d: %d -> %d sockets (+%d)\n",
                (int) kids[i], before[i], after[i], delta[i]);
    }
    fprintf(stderr, "master %d: %d -> %d sockets\n", (int) ws->pid,
            master_before, master_after);

    /* every connection lives in one worker (give or take a transient
     * socket such as a Redis connect attempt) ... */
    if (sum < NCONNS - NWORKERS || sum > NCONNS + NWORKERS) {
        fail_msg("workers gained %d sockets for %d connections", sum, NCONNS);
    }
    /* ... and the master closed its copies after handing them over */
    if (master_after - master_before > 2) {
        fail_msg("master gained %d sockets for %d connections",
                 master_after - master_before, NCONNS);
    }
    for (i = 0; i < NWORKERS; i++) {
        if (delta[i] > 1.5 * mean || delta[i] < 0.5 * mean) {
            fail_msg("worker %d holds %d of %d connections (mean %.0f)",
                     (int) kids[i], delta[i], NCONNS, mean);
        }
    }

    for (i = 0; i < NCONNS; i++) {
        http_conn_close(&conns[i]);
    }
    free(conns);
    ws->passed = true;
}

/* Requests on many connections at once: the master accepts them in
 * bursts and closes its copies of a burst together (close_range() over
 * runs of consecutive fds). Every connection reaches a worker intact, the
 * master keeps none, and its own sockets (listen, channels) survive. */
static void
test_process_model_burst_closes_only_handed_fds(void **state)
{
    struct ws_server *ws = *state;
    pid_t kids[WS_MAX_PROCS];
    struct http_conn *conns = calloc(NCONNS, sizeof(*conns));
    struct http_resp r;
    int master_before, i;

    assert_non_null(conns);
    start_three(ws, kids);
    assert_int_equal(ws_wait_tcp_server_conns(ws->port, 0, WS_WAIT_MS), 0);
    master_before = ws_count_sockets(ws->pid);
    assert_true(master_before > 0);

    for (i = 0; i < NCONNS; i++) {
        conns[i].fd = -1;
        if (http_conn_open(&conns[i], ws->port) == -1)
            fail_msg("connection %d: %s", i, http_strerror());
    }
    /* all requests first, so that they wait in the accept queue together */
    for (i = 0; i < NCONNS; i++) {
        assert_int_equal(http_send_request(&conns[i], "GET", "/index.html",
                                           "Connection: close\r\n"), HTTP_OK);
    }
    for (i = 0; i < NCONNS; i++) {
        if (http_read_response(&conns[i], false, &r) != HTTP_OK)
            fail_msg("response on connection %d: %s", i, http_strerror());
        assert_int_equal(r.status, 200);
        assert_int_equal(r.body_len, strlen(INDEX_TEXT));
        http_resp_free(&r);
        http_conn_close(&conns[i]);
    }
    free(conns);
    assert_int_equal(ws_wait_tcp_server_conns(ws->port, 0, WS_WAIT_MS), 0);
    assert_int_equal(ws_count_sockets(ws->pid), master_before);

    /* the listen socket and the channels still work */
    for (i = 0; i < 2 * NWORKERS; i++) {
        assert_int_equal(http_get(ws->port, "/index.html", &r), HTTP_OK);
        assert_int_equal(r.status, 200);
        http_resp_free(&r);
    }
    ws->passed = true;
}

static void
test_process_model_respawns_killed_worker(void **state)
{
    struct ws_server *ws = *state;
    pid_t old[WS_MAX_PROCS], now[WS_MAX_PROCS];
    pid_t victim, fresh = 0;
    int64_t deadline;
    int n = 0, i;

    start_three(ws, old);
    victim = old[1];
    assert_int_equal(kill(victim, SIGKILL), 0);

    /* three children again, the victim gone, one new pid (a slot is
     * respawned at most once a second) */
    deadline = ws_now_ms() + WS_WAIT_MS;
    for (;;) {
        n = ws_children(ws->pid, now, WS_MAX_PROCS);
        fresh = 0;
        for (i = 0; i < n; i++) {
            if (!ws_pid_in(now[i], old, NWORKERS)) {
                fresh = now[i];
            }
        }
        if (n == NWORKERS && fresh != 0 && !ws_pid_in(victim, now, n)) {
            break;
        }
        if (ws_now_ms() >= deadline) {
            fail_msg("%d ms after kill -9 %d: %d children, new pid %d",
                     WS_WAIT_MS, (int) victim, n, (int) fresh);
        }
        ws_sleep_ms(20);
    }
    fprintf(stderr, "worker %d killed, respawned as %d\n", (int) victim,
            (int) fresh);

    /* it serves, and enough requests to reach every worker */
    for (i = 0; i < 3 * NWORKERS; i++) {
        expect_index(ws->port);
    }

    /* the other two were never stopped */
    assert_true(ws_pid_in(old[0], now, n) && ws_pid_alive(old[0]));
    assert_true(ws_pid_in(old[2], now, n) && ws_pid_alive(old[2]));
    assert_true(ws_pid_alive(ws->pid));
    ws->passed = true;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_process_model_three_workers,
                                        ws_fixture_setup, ws_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_process_model_burst_closes_only_handed_fds,
                                        ws_fixture_setup, ws_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_process_model_serves_file_bytes,
                                        ws_fixture_setup, ws_fixture_teardown),
        cmocka_unit_test_setup_teardown(
            test_process_model_balances_keepalive_connections,
            ws_fixture_setup, ws_fixture_teardown),
        cmocka_unit_test_setup_teardown(
            test_process_model_respawns_killed_worker, ws_fixture_setup, ws_fixture_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
