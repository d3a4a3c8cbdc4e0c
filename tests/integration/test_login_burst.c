/* test_login_burst.c - a burst of POST /login against a private Redis
 * (issue 8.5): password hashing has a bounded queue per worker (503 with
 * Retry-After beyond hash_queue_max), queued jobs of clients that left are
 * skipped, and every client that stays gets a status line, also when the
 * wait's backstop timer fires first.
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "harness.h"

#define WAIT_MS   30000     /* bounds a hang only */
#define MAX_BURST 64


/* A private Redis and the server (one worker) with EXTRA config lines. */
static void
fx_start(struct ws_redis_fx *f, const char *extra)
{
    char conf[1024];

    assert_int_equal(redis_start(&f->rs, f->ws.dir, NULL), 0);
    /* every login of the burst fails from one address: no throttling
     * here (test_security.c has it), the hashing queue is what is tested */
    snprintf(conf, sizeof(conf), "processes = 1\nredis_port = %d\n"
             "login_max_failures = 1000000\n%s", f->rs.port, extra);
    assert_int_equal(ws_start_conf(&f->ws, conf), 0);
}

/* Open N connections and send each a login with a wrong password, all
 * before reading anything. */
static void
send_burst(struct ws_redis_fx *f, struct http_conn *c, int n)
{
    for (int i = 0; i < n; i++) {
        char body[96], extra[256];
        int len = snprintf(body, sizeof(body),
                           "username=user%d&password=wrong-password", i);
        snprintf(extra, sizeof(extra),
                 "Content-Type: application/x-www-form-urlencoded\r\n"
                 "Content-Length: %d\r\n", len);
        if (http_conn_open(&c[i], f->ws.port) != 0)
            fail_msg("connection %d: %s", i, http_strerror());
        if (http_send_request(&c[i], "POST", "/login", extra) != HTTP_OK
            || http_send(&c[i], body, (size_t) len) != HTTP_OK)
            fail_msg("sending login %d: %s", i, http_strerror());
    }
}

/* Read one answer on each of C[0..N): each must be 401 or a 503 with
 * Retry-After. Counts them. */
static void
read_burst(struct http_conn *c, int n, int *n401, int *n503)
{
    *n401 = *n503 = 0;
    for (int i = 0; i < n; i++) {
        struct http_resp r;
        if (http_read_response(&c[i], false, &r) != HTTP_OK)
            fail_msg("login %d: no answer: %s", i, http_strerror());
        if (r.status == 401) {
            (*n401)++;
        } else if (r.status == 503) {
            if (http_header(&r, "Retry-After") == NULL)
                fail_msg("login %d: 503 without Retry-After", i);
            (*n503)++;
        } else {
            fail_msg("login %d: status %d", i, r.status);
        }
        http_resp_free(&r);
        http_conn_close(&c[i]);
    }
}

/* Beyond hash_queue_max jobs, logins get 503 at once; those in the queue
 * are answered. */
static void
test_burst_issue_8_queue_bounded(void **state)
{
    struct ws_redis_fx *f = *state;
    struct http_conn c[30];
    int n401, n503;

    fx_start(f, "hash_queue_max = 2\n");
    send_burst(f, c, 30);
    read_burst(c, 30, &n401, &n503);
    fprintf(stderr, "30 logins, hash_queue_max 2: %d x 401, %d x 503\n",
            n401, n503);
    assert_true(n401 >= 1);
    assert_true(n503 >= 1);
    assert_true(ws_file_contains(f->ws.error_log, "hash_queue_max"));
    f->ws.passed = true;
}

/* Clients that send a login and leave once their hashing jobs are queued
 * (the worker says so at debug level): the jobs that no thread has taken
 * yet are skipped (logged at info), and a login after them is answered. */
static void
test_burst_issue_8_gone_clients_skipped(void **state)
{
    struct ws_redis_fx *f = *state;
    struct http_conn c[40], one;
    int n401, n503;

    fx_start(f, "hash_queue_max = 64\nlog_level = debug\n");
    send_burst(f, c, 40);
    /* 2 threads at tens of ms a hash: most of these are still queued */
    assert_true(ws_wait_file_contains(f->ws.error_log, "password job 20 queued",
                                      WAIT_MS));
    for (int i = 0; i < 40; i++)
        http_conn_close(&c[i]);
    assert_true(ws_wait_file_contains(f->ws.error_log,
                                      "cancelled before it ran", WAIT_MS));
    send_burst(f, &one, 1);
    read_burst(&one, 1, &n401, &n503);
    assert_int_equal(n401, 1);
    f->ws.passed = true;
}

/* A queue longer than the wait's backstop (redis_timeout + send_timeout,
 * here 200 ms, while 60 hashes on 2 threads take far longer): the clients
 * the backstop reaches get 503 with Retry-After, not a silent close. */
static void
test_burst_issue_8_backstop_answers(void **state)
{
    struct ws_redis_fx *f = *state;
    struct http_conn c[60];
    int n401, n503;

    fx_start(f, "redis_timeout = 100ms\n"
                "send_timeout = 100ms\n");
    send_burst(f, c, 60);
    read_burst(c, 60, &n401, &n503);
    fprintf(stderr, "60 logins, backstop 200 ms: %d x 401, %d x 503\n",
            n401, n503);
    assert_int_equal(n401 + n503, 60);
    f->ws.passed = true;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, ws_redis_fixture_setup, \
                                          ws_redis_fixture_teardown)
        T(test_burst_issue_8_queue_bounded),
        T(test_burst_issue_8_gone_clients_skipped),
        T(test_burst_issue_8_backstop_answers),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
