/* test_robustness.c - the master under signals and broken reloads:
 * a signal that arrives while the server starts is handled, not fatal; a
 * reload whose workers cannot start keeps the old workers serving; a first
 * generation that cannot start makes the master exit 2; a config whose log
 * file cannot be opened is refused by -t and by a reload with FILE:LINE;
 * reloads under keep-alive load lose no request; a refused connection gets
 * its 503 and a clean close, not a reset.
 * SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/socket.h>
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

/* Wait on inotify fd IN (watching PATH's directory) until PATH exists. */
static bool
wait_port_file(int in, const char *path, int timeout_ms)
{
    int64_t deadline = ws_now_ms() + timeout_ms;
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    struct stat st;

    while (stat(path, &st) != 0) {
        struct pollfd p = { in, POLLIN, 0 };
        int left = (int) (deadline - ws_now_ms());
        if (left <= 0)
            return false;
        if (poll(&p, 1, left) == 1 && read(in, buf, sizeof(buf)) < 0
            && errno != EAGAIN)
            return false;
    }
    return true;
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

        /* inotify tells the moment the port file is renamed into place */
        int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        assert_true(in >= 0);
        assert_true(inotify_add_watch(in, ws->dir, IN_MOVED_TO | IN_CREATE) >= 0);
        assert_int_equal(ws_spawn(ws, NULL, NULL), 0);
        if (!wait_port_file(in, ws->port_file, WAIT_MS))
            fail_msg("round %d: no port_file", round);
        close(in);
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
    /* served: the first generation is ready and took over, so the fault
     * below reaches only the next one */
    get_ok(ws->port, "/");

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

/* A reload that moves error_log: the new generation logs to the new file
 * from its first line (it is forked before the master switches, at
 * takeover), and nothing of it goes to the old one. */
static void
test_robust_reload_moves_error_log(void **state)
{
    struct ws_server *ws = *state;
    char second[WS_PATH_MAX + 16], text[WS_PATH_MAX * 2];

    snprintf(second, sizeof(second), "%s/second.log", ws->dir);
    assert_int_equal(ws_start_conf(ws, "processes = 1\nlog_level = info\n"), 0);
    assert_true(ws_wait_file_contains(ws->error_log, "[worker 1]", WAIT_MS));
    snprintf(text, sizeof(text), "processes = 1\nlog_level = info\n"
             "error_log = %s\n", second);
    assert_int_equal(ws_write_config(ws, text), 0);
    assert_int_equal(ws_signal(ws, SIGHUP), 0);
    assert_true(ws_wait_file_contains(second, "reload done", WAIT_MS));
    assert_true(ws_wait_file_contains(second, "[worker 2]", WAIT_MS));
    assert_false(ws_file_contains(ws->error_log, "[worker 2]"));
    ws->passed = true;
}

/* QUIT (a stop, unlike a reload) closes idle keep-alive connections at
 * once: the master exits long before keepalive_timeout. */
static void
test_robust_quit_closes_idle_keepalive(void **state)
{
    struct ws_server *ws = *state;
    char index[WS_PATH_MAX + 16], byte;
    struct http_conn c;
    struct http_resp r;
    int status;

    snprintf(index, sizeof(index), "%s/index.html", ws->root);
    assert_int_equal(ws_write_text(index, "hello\n"), 0);
    assert_int_equal(ws_start_conf(ws, "processes = 1\n"
                                       "keepalive_timeout = 300s\n"
                                       "shutdown_timeout = 300s\n"), 0);
    assert_int_equal(http_conn_open(&c, ws->port), 0);
    assert_int_equal(http_request(&c, "GET", "/", NULL, &r), HTTP_OK);
    assert_int_equal(r.status, 200);
    assert_true(r.keepalive);
    http_resp_free(&r);
    assert_int_equal(ws_signal(ws, SIGQUIT), 0);
    assert_int_equal(ws_wait_exit(ws, WAIT_MS, &status), 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(recv(c.fd, &byte, 1, 0), 0);
    http_conn_close(&c);
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

/* issue 8.9: when every worker is full, the master's 503 arrives with a
 * clean close: what the client had sent is read first, so closing does
 * not reset the connection. */
static void
test_robust_issue_8_refusal_is_not_reset(void **state)
{
    struct ws_server *ws = *state;
    char index[WS_PATH_MAX + 16], byte;
    struct http_conn held, refused;
    struct http_resp r;
    ssize_t n;

    snprintf(index, sizeof(index), "%s/index.html", ws->root);
    assert_int_equal(ws_write_text(index, "hello\n"), 0);
    assert_int_equal(ws_start_conf(ws, "processes = 1\nmax_connections = 1\n"),
                     0);
    /* an idle keep-alive connection holds the only slot (once the
     * harness's readiness probe has left it) */
    for (int64_t deadline = ws_now_ms() + WAIT_MS;;) {
        assert_int_equal(http_conn_open(&held, ws->port), 0);
        assert_int_equal(http_request(&held, "GET", "/", NULL, &r), HTTP_OK);
        if (r.status == 200)
            break;
        assert_int_equal(r.status, 503);
        http_resp_free(&r);
        http_conn_close(&held);
        if (ws_now_ms() > deadline)
            fail_msg("the only slot never came free");
        ws_sleep_ms(20);
    }
    http_resp_free(&r);

    for (int i = 0; i < 5; i++) {
        assert_int_equal(http_conn_open(&refused, ws->port), 0);
        assert_int_equal(http_request(&refused, "GET", "/", NULL, &r), HTTP_OK);
        assert_int_equal(r.status, 503);
        assert_non_null(http_header(&r, "Retry-After"));
        http_resp_free(&r);
        n = recv(refused.fd, &byte, 1, 0);
        if (n != 0)
            fail_msg("after the 503: recv gave %zd (%s), want a clean EOF", n,
                     n < 0 ? strerror(errno) : "data");
        http_conn_close(&refused);
    }
    http_conn_close(&held);
    ws->passed = true;
}

/* ---- Reloads under keep-alive load (issue 8.8) ---- */

#define KA_CLIENTS  8
#define KA_RELOADS  5

struct ka_load {
    int          port;
    atomic_bool  stop;
    atomic_long  ok;
    atomic_long  failures;
    atomic_long  reconnects;
    char         first_failure[256];
    pthread_mutex_t lock;
};

/* One client: GET / on a keep-alive connection, again and again; a new
 * connection only when the server said "Connection: close". No retries:
 * every failed request counts. */
static void *
ka_client(void *arg)
{
    struct ka_load *L = arg;
    struct http_conn c;
    bool open = false;

    while (!atomic_load(&L->stop)) {
        struct http_resp r;
        int rc;

        if (!open) {
            if (http_conn_open(&c, L->port) != 0) {
                rc = HTTP_ERR;
                goto failed;
            }
            open = true;
        }
        rc = http_request(&c, "GET", "/", NULL, &r);
        if (rc == HTTP_OK && r.status == 200) {
            atomic_fetch_add(&L->ok, 1);
            if (!r.keepalive) {
                http_conn_close(&c);
                open = false;
                atomic_fetch_add(&L->reconnects, 1);
            }
            http_resp_free(&r);
            continue;
        }
        if (rc == HTTP_OK) {
            snprintf(L->first_failure, sizeof(L->first_failure), "status %d",
                     r.status);
            http_resp_free(&r);
        }
failed:
        pthread_mutex_lock(&L->lock);
        if (atomic_fetch_add(&L->failures, 1) == 0 && rc != HTTP_OK)
            snprintf(L->first_failure, sizeof(L->first_failure), "%s",
                     http_strerror());
        pthread_mutex_unlock(&L->lock);
        if (open)
            http_conn_close(&c);
        open = false;
    }
    if (open)
        http_conn_close(&c);
    return NULL;
}

/* Occurrences of NEEDLE in PATH. */
static int
count_in_file(const char *path, const char *needle)
{
    char *text = ws_read_file(path, NULL);
    int n = 0;

    for (const char *p = text; p != NULL && (p = strstr(p, needle)) != NULL;
         p++)
        n++;
    free(text);
    return n;
}

/* Reloads while clients keep their connections busy: the old workers
 * answer every request that reaches them (the next one on an idle
 * connection with "Connection: close"), so no request fails. */
static void
test_robust_issue_8_reload_keepalive_no_loss(void **state)
{
    struct ws_server *ws = *state;
    struct ka_load L;
    pthread_t tid[KA_CLIENTS];
    char index[WS_PATH_MAX + 16];

    memset(&L, 0, sizeof(L));
    pthread_mutex_init(&L.lock, NULL);
    snprintf(index, sizeof(index), "%s/index.html", ws->root);
    assert_int_equal(ws_write_text(index, "hello\n"), 0);
    assert_int_equal(ws_start_conf(ws, "processes = 2\n"
                                       "shutdown_timeout = 20s\n"), 0);
    L.port = ws->port;
    for (int i = 0; i < KA_CLIENTS; i++)
        assert_int_equal(pthread_create(&tid[i], NULL, ka_client, &L), 0);

    for (int k = 1; k <= KA_RELOADS; k++) {
        long before = atomic_load(&L.ok);
        int64_t deadline = ws_now_ms() + WAIT_MS;

        assert_int_equal(ws_signal(ws, SIGHUP), 0);
        while (count_in_file(ws->error_log, "reload done") < k
               || atomic_load(&L.ok) < before + 200) {
            if (ws_now_ms() > deadline || atomic_load(&L.failures) > 0)
                break;
            ws_sleep_ms(10);
        }
        if (atomic_load(&L.failures) > 0)
            break;
        if (ws_now_ms() > deadline)
            fail_msg("reload %d: not done, or no progress", k);
    }
    atomic_store(&L.stop, true);
    for (int i = 0; i < KA_CLIENTS; i++)
        pthread_join(tid[i], NULL);
    fprintf(stderr, "%d reloads: %ld requests, %ld reconnects, %ld failed%s%s\n",
            KA_RELOADS, atomic_load(&L.ok), atomic_load(&L.reconnects),
            atomic_load(&L.failures), L.first_failure[0] ? ": " : "",
            L.first_failure);
    assert_int_equal(atomic_load(&L.failures), 0);
    assert_true(atomic_load(&L.reconnects) > 0);
    pthread_mutex_destroy(&L.lock);
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
        cmocka_unit_test_setup_teardown(
            test_robust_quit_closes_idle_keepalive,
            ws_fixture_setup, ws_fixture_teardown),
        cmocka_unit_test_setup_teardown(
            test_robust_reload_moves_error_log,
            ws_fixture_setup, ws_fixture_teardown),
        cmocka_unit_test_setup_teardown(
            test_robust_issue_8_refusal_is_not_reset,
            ws_fixture_setup, ws_fixture_teardown),
        cmocka_unit_test_setup_teardown(
            test_robust_issue_8_reload_keepalive_no_loss,
            ws_fixture_setup, ws_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
