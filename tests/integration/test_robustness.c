/* test_robustness.c - the master under signals and broken reloads:
 * a signal that arrives while the server starts is handled, not fatal; a
 * reload whose workers cannot start keeps the old workers serving; a first
 * generation that cannot start makes the master exit 2; a config whose log
 * file cannot be opened is refused by -t and by a reload with FILE:LINE.
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness.h"

#define START_ROUNDS   50
#define WAIT_MS        20000    /* bounds a hang only */

static void
get_ok(int port, const char *path)
{
    struct http_resp r;
    int rc = http_get(port, path, &r);

    if (rc != HTTP_OK)
        fail_msg("GET %s: %s", path, http_strerror());
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
}

/* issue 8.1: HUP, USR1 or QUIT sent the moment port_file appears (the
 * listen socket exists, the event loop may not yet) never kills the
 * master. HUP and USR1 leave a server that serves and stops cleanly on
 * TERM; QUIT makes it exit 0. */
static void
test_robust_issue_8_signal_during_start(void **state)
{
    static const int sigs[] = { SIGHUP, SIGUSR1, SIGQUIT };
    struct ws_server *ws = *state;
    struct stat st;
    int status;

    {
        char index[WS_PATH_MAX + 16];
        snprintf(index, sizeof(index), "%s/index.html", ws->root);
        assert_int_equal(ws_write_text(index, "hello\n"), 0);
    }
    assert_int_equal(ws_write_config(ws, "processes = 1\n"
                                         "shutdown_timeout = 5s\n"), 0);
    for (int round = 0; round < START_ROUNDS; round++) {
        int sig = sigs[round % 3];
        int64_t deadline;

        assert_int_equal(ws_spawn(ws, NULL, NULL), 0);
        deadline = ws_now_ms() + WAIT_MS;
        while (stat(ws->port_file, &st) != 0) {
            if (ws_now_ms() > deadline)
                fail_msg("round %d: no port_file", round);
            usleep(100);
        }
        assert_int_equal(ws_signal(ws, sig), 0);
        if (sig == SIGQUIT) {
            if (ws_wait_exit(ws, WAIT_MS, &status) != 0)
                fail_msg("round %d: QUIT during start: still running", round);
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                fail_msg("round %d: QUIT during start: status %d (exit "
                         "code/128+signal)", round, ws_exit_code(status));
            continue;
        }
        if (ws_wait_ready(ws, WAIT_MS) != 0)
            fail_msg("round %d: signal %d during start: master gone, "
                     "status %d", round, sig, ws_exit_code(ws->status));
        get_ok(ws->port, "/");
        status = ws_stop(ws);
        if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            fail_msg("round %d: signal %d during start: stop gave %d",
                     round, sig, status < 0 ? -1 : ws_exit_code(status));
    }
    ws->passed = true;
}

/* issue 8.2: a log file in a directory that does not exist is refused by
 * -t (exit 1, FILE:LINE) and by a reload (logged; the workers keep
 * serving). */
static void
test_robust_issue_8_bad_log_refused_with_line(void **state)
{
    struct ws_server *ws = *state;
    char text[WS_PATH_MAX * 2], want[WS_PATH_MAX + 32];
    pid_t before[WS_MAX_PROCS], after[WS_MAX_PROCS];
    struct ws_run_result res;
    const char *targs[] = { "-t", "-c", ws->conf, NULL };
    char index[WS_PATH_MAX + 16];
    int n;

    snprintf(index, sizeof(index), "%s/index.html", ws->root);
    assert_int_equal(ws_write_text(index, "hello\n"), 0);
    assert_int_equal(ws_start_conf(ws, "processes = 2\n"), 0);
    n = ws_wait_children(ws->pid, 2, WAIT_MS, before);
    assert_int_equal(n, 2);

    snprintf(text, sizeof(text), "processes = 2\n# the log below cannot be "
             "opened\naccess_log = %s/no/such/dir/access.log\n", ws->dir);
    assert_int_equal(ws_write_config(ws, text), 0);
    assert_int_equal(ws_run(targs, NULL, WAIT_MS, &res), 0);
    snprintf(want, sizeof(want), "%s:3:", ws->conf);
    if (res.code != 1 || strstr(res.err, want) == NULL
        || strstr(res.err, "access_log") == NULL)
        fail_msg("-t gave %d, stderr \"%s\"; wanted 1 and \"%s ... "
                 "access_log\"", res.code, res.err, want);
    ws_run_result_free(&res);

    assert_int_equal(ws_signal(ws, SIGHUP), 0);
    assert_true(ws_wait_file_contains(ws->error_log, want, WAIT_MS));
    assert_true(ws_file_contains(ws->error_log, "keeping the running"));
    n = ws_children(ws->pid, after, WS_MAX_PROCS);
    assert_int_equal(n, 2);
    assert_memory_equal(before, after, 2 * sizeof(pid_t));
    get_ok(ws->port, "/");
    ws->passed = true;
}

/* issue 8.2: a reload whose workers pass the config check but exit 2 at
 * start leaves the old generation serving (it is drained only once the new
 * one said it is ready); the error log says why. A later good reload
 * works. */
static void
test_robust_issue_8_reload_dead_generation_keeps_old(void **state)
{
    struct ws_server *ws = *state;
    char fault[WS_PATH_MAX + 16], index[WS_PATH_MAX + 16];
    pid_t before[WS_MAX_PROCS], now[WS_MAX_PROCS];
    int n;

    snprintf(fault, sizeof(fault), "%s/fault", ws->dir);
    snprintf(index, sizeof(index), "%s/index.html", ws->root);
    assert_int_equal(ws_write_text(index, "hello\n"), 0);
    setenv("WEBSERVER_FAULT_WORKER_START", fault, 1);
    assert_int_equal(ws_start_conf(ws, "processes = 2\n"), 0);
    unsetenv("WEBSERVER_FAULT_WORKER_START");
    assert_int_equal(ws_wait_children(ws->pid, 2, WAIT_MS, before), 2);

    /* from now on every new worker fails at start */
    assert_int_equal(ws_write_text(fault, "x"), 0);
    assert_int_equal(ws_signal(ws, SIGHUP), 0);
    assert_true(ws_wait_file_contains(ws->error_log, "reload failed",
                                      WAIT_MS));
    assert_true(ws_file_contains(ws->error_log, "before it was ready"));
    /* the failed generation's workers are gone; the old ones remain */
    n = ws_wait_children(ws->pid, 2, WAIT_MS, now);
    assert_int_equal(n, 2);
    assert_memory_equal(before, now, 2 * sizeof(pid_t));
    for (int i = 0; i < 20; i++)
        get_ok(ws->port, "/");

    /* the cause goes away: the next reload replaces the workers */
    assert_int_equal(unlink(fault), 0);
    assert_int_equal(ws_signal(ws, SIGHUP), 0);
    assert_true(ws_wait_file_contains(ws->error_log, "reload done", WAIT_MS));
    assert_int_equal(ws_wait_pids_gone(before, 2, WAIT_MS), 0);
    get_ok(ws->port, "/");
    ws->passed = true;
}

/* issue 8.2: at start, a generation that cannot run makes the master exit
 * 2 (not a master without workers answering 503). */
static void
test_robust_issue_8_first_generation_fails_exit_2(void **state)
{
    struct ws_server *ws = *state;
    char fault[WS_PATH_MAX + 16];
    int status;

    snprintf(fault, sizeof(fault), "%s/fault", ws->dir);
    assert_int_equal(ws_write_text(fault, "x"), 0);
    assert_int_equal(ws_write_config(ws, "processes = 2\n"), 0);
    setenv("WEBSERVER_FAULT_WORKER_START", fault, 1);
    assert_int_equal(ws_spawn(ws, NULL, NULL), 0);
    unsetenv("WEBSERVER_FAULT_WORKER_START");
    assert_int_equal(ws_wait_exit(ws, WAIT_MS, &status), 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 2);
    assert_true(ws_file_contains(ws->error_log, "cannot start"));
    ws->passed = true;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_robust_issue_8_signal_during_start,
                                        ws_fixture_setup, ws_fixture_teardown),
        cmocka_unit_test_setup_teardown(
            test_robust_issue_8_bad_log_refused_with_line,
            ws_fixture_setup, ws_fixture_teardown),
        cmocka_unit_test_setup_teardown(
            test_robust_issue_8_reload_dead_generation_keeps_old,
            ws_fixture_setup, ws_fixture_teardown),
        cmocka_unit_test_setup_teardown(
            test_robust_issue_8_first_generation_fails_exit_2,
            ws_fixture_setup, ws_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
