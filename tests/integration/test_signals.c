/* test_signals.c - SIGQUIT drains an in-flight slow download, SIGTERM stops
 * master and workers without draining (even a hung worker), SIGUSR1
 * reopens the error log, and -t checks a config (broken and shipped).
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness.h"

#define BIG_SIZE    (64u << 20)     /* sparse, so all zeros */
#define SLOW_CHUNK  (1u << 20)      /* read 1 MiB ... */
#define SLOW_MS     50              /* ... every 50 ms */
#define SMALL_RCVBUF 16384
#define QUIT_AFTER  (2u << 20)      /* SIGQUIT once 2 MiB arrived */

struct quit_at {
    struct ws_server *ws;
    bool     sent;
    uint64_t at_bytes;          /* bytes received when SIGQUIT went out */
};

static void
quit_on_progress(struct http_conn *c, void *arg)
{
    struct quit_at *q = arg;

    if (!q->sent && c->rx_total >= QUIT_AFTER) {
        q->sent = true;
        q->at_bytes = c->rx_total;
        ws_signal(q->ws, SIGQUIT);
    }
}

static void
test_signals_quit_completes_slow_download(void **state)
{
    struct ws_server *ws = *state;
    pid_t kids[WS_MAX_PROCS];
    struct quit_at q = { .ws = ws };
    char path[WS_PATH_MAX + 64];
    struct http_resp r;
    struct http_conn c;
    int n, rc, status;
    size_t i;

    snprintf(path, sizeof(path), "%s/big.bin", ws->root);
    assert_int_equal(ws_write_sparse_file(path, BIG_SIZE), 0);
    assert_int_equal(ws_start_conf(ws, "processes = 2\n"
                                       "shutdown_timeout = 60s\n"), 0);
    n = ws_wait_children(ws->pid, 2, WS_WAIT_MS, kids);
    assert_int_equal(n, 2);

    assert_int_equal(http_conn_open_rcvbuf(&c, ws->port, SMALL_RCVBUF), 0);
    c.slow_chunk = SLOW_CHUNK;
    c.slow_ms = SLOW_MS;
    c.on_progress = quit_on_progress;
    c.progress_arg = &q;
    rc = http_request(&c, "GET", "/big.bin", NULL, &r);
    if (rc != HTTP_OK) {
        fail_msg("download after SIGQUIT at byte %llu: %s (master %s)",
                 (unsigned long long) q.at_bytes, http_strerror(),
                 ws_pid_alive(ws->pid) ? "alive" : "gone");
    }
    http_conn_close(&c);
    assert_true(q.sent);
    fprintf(stderr, "SIGQUIT sent after %llu of %u bytes\n",
            (unsigned long long) q.at_bytes, BIG_SIZE);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, BIG_SIZE);
    for (i = 0; i < r.body_len && r.body[i] == 0; i++) {
    }
    if (i != r.body_len) {
        fail_msg("byte %zu of the sparse file is not zero", i);
    }
    http_resp_free(&r);

    if (ws_wait_exit(ws, 30000, &status) == -1) {
        fail_msg("master still running 30 s after the drained download");
    }
    fprintf(stderr, "master exit code %d\n", ws_exit_code(status));
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(ws_wait_pids_gone(kids, n, 10000), 0);
    ws->passed = true;
}

/* SIGTERM does not wait: neither for an idle keep-alive connection nor
 * for a download in progress, which a graceful stop would finish (within
 * shutdown_timeout, 60 s here, beyond the bound on the wait below). */
static void
test_signals_term_stops_everything_fast(void **state)
{
    struct ws_server *ws = *state;
    pid_t kids[WS_MAX_PROCS];
    char path[WS_PATH_MAX + 64];
    struct http_conn c, d;
    struct http_resp r;
    int64_t t0;
    int n, rc, status;

    snprintf(path, sizeof(path), "%s/big.bin", ws->root);
    assert_int_equal(ws_write_sparse_file(path, BIG_SIZE), 0);
    assert_int_equal(ws_start_conf(ws, "processes = 3\n"
                                       "shutdown_timeout = 60s\n"
                                       "keepalive_timeout = 60s\n"
                                       "send_timeout = 60s\n"), 0);
    n = ws_wait_children(ws->pid, 3, WS_WAIT_MS, kids);
    assert_int_equal(n, 3);

    /* an idle keep-alive connection ... */
    assert_int_equal(http_conn_open(&c, ws->port), 0);
    assert_int_equal(http_request(&c, "GET", "/nothing-here", NULL, &r),
                     HTTP_OK);
    assert_int_equal(r.status, 404);
    http_resp_free(&r);
    /* ... and a download that waits for us to read */
    assert_int_equal(http_conn_open_rcvbuf(&d, ws->port, SMALL_RCVBUF), 0);
    assert_int_equal(http_send_request(&d, "GET", "/big.bin", NULL),
                     HTTP_OK);
    assert_int_equal(ws_wait_readable(&d.fd, 1, WS_WAIT_MS, NULL), 1);

    t0 = ws_now_ms();
    assert_int_equal(ws_signal(ws, SIGTERM), 0);
    if (ws_wait_exit(ws, WS_WAIT_MS, &status) == -1) {
        fail_msg("master %d still running %d ms after SIGTERM", (int) ws->pid,
                 WS_WAIT_MS);
    }
    n = ws_wait_pids_gone(kids, n, WS_WAIT_MS);
    fprintf(stderr, "SIGTERM: master exit code %d after %lld ms\n",
            ws_exit_code(status), (long long) (ws_now_ms() - t0));
    if (n != 0) {
        fail_msg("%d workers still alive %d ms after SIGTERM", n, WS_WAIT_MS);
    }
    /* the download was cut off, not finished */
    rc = http_read_response(&d, false, &r);
    if (rc == HTTP_OK) {
        http_resp_free(&r);
        fail_msg("the download finished after SIGTERM");
    }
    http_conn_close(&d);
    http_conn_close(&c);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    ws->passed = true;
}

/* A worker that cannot react (SIGSTOP) must not hold a fast stop up: the
 * master escalates to SIGKILL (after 2 s; a graceful stop would wait 60 s
 * here, beyond the bound on the wait). */
static void
test_signals_term_kills_hung_worker(void **state)
{
    struct ws_server *ws = *state;
    pid_t kids[WS_MAX_PROCS];
    char killed[64];
    int n, status;

    assert_int_equal(ws_start_conf(ws, "processes = 2\n"
                                       "shutdown_timeout = 60s\n"), 0);
    n = ws_wait_children(ws->pid, 2, WS_WAIT_MS, kids);
    assert_int_equal(n, 2);
    assert_int_equal(kill(kids[0], SIGSTOP), 0);

    assert_int_equal(ws_signal(ws, SIGTERM), 0);
    if (ws_wait_exit(ws, WS_WAIT_MS, &status) == -1) {
        fail_msg("master %d still running %d ms after SIGTERM with worker %d "
                 "stopped (%s)", (int) ws->pid, WS_WAIT_MS, (int) kids[0],
                 ws_pid_alive(kids[0]) ? "still there" : "gone");
    }
    n = ws_wait_pids_gone(kids, n, WS_WAIT_MS);
    if (n != 0) {
        fail_msg("%d workers still alive %d ms after SIGTERM", n, WS_WAIT_MS);
    }
    assert_true(WIFEXITED(status));
    snprintf(killed, sizeof(killed), "(pid %d) killed by signal %d",
             (int) kids[0], SIGKILL);
    if (!ws_file_contains(ws->error_log, killed)) {
        fail_msg("no \"%s\" in the error log", killed);
    }
    ws->passed = true;
}

/* USR1 reopens the error log: after logrotate moved it away, the master
 * creates it again and writes there (a reload makes it log something). */
static void
test_signals_usr1_reopens_error_log(void **state)
{
    struct ws_server *ws = *state;
    char moved[WS_PATH_MAX + 8];
    pid_t kids[WS_MAX_PROCS];
    int64_t deadline;
    size_t len = 0;
    char *text;

    assert_int_equal(ws_start_conf(ws, "processes = 1\n"), 0);
    assert_int_equal(ws_wait_children(ws->pid, 1, WS_WAIT_MS, kids), 1);
    snprintf(moved, sizeof(moved), "%s.1", ws->error_log);
    assert_int_equal(rename(ws->error_log, moved), 0);

    assert_int_equal(ws_signal(ws, SIGUSR1), 0);
    if (!ws_wait_exists(ws->error_log, WS_WAIT_MS)) {
        fail_msg("%s not re-created within %d ms of SIGUSR1", ws->error_log,
                 WS_WAIT_MS);
    }
    assert_int_equal(ws_signal(ws, SIGHUP), 0);
    deadline = ws_now_ms() + WS_WAIT_MS;
    while (ws_now_ms() < deadline) {
        text = ws_read_file(ws->error_log, &len);
        free(text);
        if (len > 0) {
            break;
        }
        ws_sleep_ms(20);
    }
    if (len == 0) {
        fail_msg("nothing logged to the reopened %s after SIGHUP",
                 ws->error_log);
    }
    ws->passed = true;
}

/* -t on broken configs: exit 1, stderr names FILE:LINE. */
static void
test_signals_check_broken_config(void **state)
{
    static const struct {
        int         line;           /* __LINE__ of the table row */
        const char *text;
        int         bad;            /* the line the error must name */
    } rows[] = {
        { __LINE__, "# comment\nprocesses = 2\nno_such_key = 1\n", 3 },
        { __LINE__, "processes = many\n", 1 },
        { __LINE__, "\n\nkeepalive_timeout = soon\n", 3 },
        { __LINE__, "port = 0\nmax_request_header = 8q\n", 2 },
        { __LINE__, "this line is not a setting\n", 1 },
    };
    struct ws_server *ws = *state;
    char conf[WS_PATH_MAX + 64], needle[WS_PATH_MAX + 80];

    snprintf(conf, sizeof(conf), "%s/broken.conf", ws->dir);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const char *args[] = { "-t", "-c", conf, NULL };
        struct ws_run_result res;

        assert_int_equal(ws_write_text(conf, rows[i].text), 0);
        assert_int_equal(ws_run(args, NULL, 10000, &res), 0);
        snprintf(needle, sizeof(needle), "%s:%d", conf, rows[i].bad);
        if (res.code != 1 || strstr(res.err, needle) == NULL) {
            fail_msg("row at line %d: -t exited %d, stderr '%s' (want 1 and "
                     "'%s')", rows[i].line, res.code, res.err, needle);
        }
        ws_run_result_free(&res);
    }
    ws->passed = true;
}

static void
test_signals_check_shipped_config(void **state)
{
    struct ws_server *ws = *state;
    char conf[WS_PATH_MAX + 64];
    const char *args[] = { "-t", "-c", conf, NULL };
    struct ws_run_result res;

    snprintf(conf, sizeof(conf), "%s/etc/webserver.conf", ws_src());
    assert_int_equal(ws_run(args, ws_src(), 10000, &res), 0);
    if (res.code != 0 || (strstr(res.out, "configuration ok") == NULL
                          && strstr(res.err, "configuration ok") == NULL)) {
        fail_msg("-t -c %s exited %d, stdout '%s', stderr '%s'", conf,
                 res.code, res.out, res.err);
    }
    ws_run_result_free(&res);
    ws->passed = true;
}

/* Ctrl-C in a terminal signals the whole process group at once: the
 * master's SIGTERM to its workers then lands while they are already
 * cleaning up. They must still exit with code 0, not die of the signal.
 * Several rounds, since the overlap is a matter of timing. */
static void
test_signals_group_interrupt_exits_cleanly(void **state)
{
    struct ws_server *ws = *state;
    pid_t kids[WS_MAX_PROCS];
    struct http_resp r;
    int n, status;

    for (int round = 0; round < 3; round++) {
        ws->passed = false;
        assert_int_equal(ws_start_conf(ws, "processes = 2\n"), 0);
        n = ws_wait_children(ws->pid, 2, WS_WAIT_MS, kids);
        assert_int_equal(n, 2);
        assert_int_equal(http_get(ws->port, "/", &r), HTTP_OK);
        http_resp_free(&r);
        for (int i = 0; i < n; i++)
            kill(kids[i], SIGINT);
        assert_int_equal(ws_signal(ws, SIGINT), 0);
        assert_int_equal(ws_wait_exit(ws, WS_WAIT_MS, &status), 0);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        assert_false(ws_file_contains(ws->error_log, "killed by signal"));
        ws->passed = true;
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_signals_quit_completes_slow_download, ws_fixture_setup, ws_fixture_teardown),
        cmocka_unit_test_setup_teardown(
            test_signals_term_stops_everything_fast, ws_fixture_setup, ws_fixture_teardown),
        cmocka_unit_test_setup_teardown(
            test_signals_term_kills_hung_worker, ws_fixture_setup, ws_fixture_teardown),
        cmocka_unit_test_setup_teardown(
            test_signals_usr1_reopens_error_log, ws_fixture_setup, ws_fixture_teardown),
        cmocka_unit_test_setup_teardown(
            test_signals_group_interrupt_exits_cleanly, ws_fixture_setup,
            ws_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_signals_check_broken_config,
                                        ws_fixture_setup, ws_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_signals_check_shipped_config,
                                        ws_fixture_setup, ws_fixture_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
