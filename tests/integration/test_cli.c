/* test_cli.c - the command line: -h, -V, bad arguments, -s against a
 * running master found through pid_file, and -d.
 * SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness.h"

#define INDEX_TEXT "<html><body>cli</body></html>\n"

static int
setup(void **state)
{
    struct ws_server *ws = calloc(1, sizeof(*ws));
    char path[WS_PATH_MAX + 64];

    if (ws == NULL || ws_init(ws) == -1) {
        free(ws);
        return -1;
    }
    snprintf(path, sizeof(path), "%s/index.html", ws->root);
    if (ws_write_text(path, INDEX_TEXT) == -1) {
        ws_cleanup(ws);
        free(ws);
        return -1;
    }
    *state = ws;
    return 0;
}

/* Run ARGS; returns the result (caller frees), failing on a timeout. */
static struct ws_run_result
run(const char *const *args)
{
    struct ws_run_result res;

    if (ws_run(args, NULL, 10000, &res) == -1) {
        fail_msg("%s %s ... did not exit within 10 s", ws_bin(), args[0]);
    }
    return res;
}

static void
expect_index(int port)
{
    struct http_resp r;
    int rc = http_get(port, "/index.html", &r);

    if (rc != HTTP_OK) {
        fail_msg("GET /index.html: %s", http_strerror());
    }
    assert_int_equal(r.status, 200);
    assert_memory_equal(r.body, INDEX_TEXT, strlen(INDEX_TEXT));
    http_resp_free(&r);
}

/* Config with pid_file = DIR/webserver.pid and 2 workers. */
static void
write_pidfile_config(struct ws_server *ws)
{
    char text[WS_PATH_MAX + 64];

    snprintf(text, sizeof(text), "processes = 2\npid_file = %s\n",
             ws->pid_file);
    assert_int_equal(ws_write_config(ws, text), 0);
}

/* Poll (bounded) until PATH holds a positive number. */
static long
wait_pid_file(const char *path)
{
    int64_t deadline = ws_now_ms() + 10000;
    long pid;

    while ((pid = ws_read_number(path)) <= 0 && ws_now_ms() < deadline) {
        ws_sleep_ms(20);
    }
    return pid;
}

static void
test_cli_help(void **state)
{
    struct ws_server *ws = *state;
    const char *args[] = { "-h", NULL };
    struct ws_run_result res = run(args);

    if (res.code != 0 || (strcasestr(res.out, "usage") == NULL
                          && strcasestr(res.err, "usage") == NULL)) {
        fail_msg("-h exited %d, stdout '%s', stderr '%s'", res.code, res.out,
                 res.err);
    }
    ws_run_result_free(&res);
    ws->passed = true;
}

static void
test_cli_version(void **state)
{
    struct ws_server *ws = *state;
    const char *args[] = { "-V", NULL };
    struct ws_run_result res = run(args);

    if (res.code != 0 || (strpbrk(res.out, "0123456789") == NULL
                          && strpbrk(res.err, "0123456789") == NULL)) {
        fail_msg("-V exited %d, stdout '%s', stderr '%s'", res.code, res.out,
                 res.err);
    }
    ws_run_result_free(&res);
    ws->passed = true;
}

static void
test_cli_bad_arguments_exit_1(void **state)
{
    static const struct {
        int         line;
        const char *args[6];
    } rows[] = {
        { __LINE__, { "-Z" } },
        { __LINE__, { "--no-such-option" } },
        { __LINE__, { "-c" } },                          /* missing FILE */
        { __LINE__, { "-c", "/nonexistent/webserver.conf", "-t" } },
        { __LINE__, { "127.0.0.1", "70000", "3" } },     /* port */
        { __LINE__, { "127.0.0.1", "-1", "3" } },
        { __LINE__, { "127.0.0.1", "0", "abc" } },       /* processes */
        { __LINE__, { "127.0.0.1", "0", "3", "lots" } }, /* max conns */
        { __LINE__, { "127.0.0.1", "0" } },              /* too few */
        { __LINE__, { "-s", "bogus" } },                 /* unknown signal */
    };
    struct ws_server *ws = *state;

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct ws_run_result res;

        if (ws_run(rows[i].args, ws->dir, 10000, &res) == -1) {
            fail_msg("row at line %d: still running after 10 s", rows[i].line);
        }
        if (res.code != 1) {
            fail_msg("row at line %d: exit %d (want 1), stdout '%s', "
                     "stderr '%s'", rows[i].line, res.code, res.out, res.err);
        }
        ws_run_result_free(&res);
    }
    ws->passed = true;
}

static void
test_cli_signal_reload_then_quit(void **state)
{
    struct ws_server *ws = *state;
    const char *reload[] = { "-c", ws->conf, "-s", "reload", NULL };
    const char *quit[] = { "-c", ws->conf, "-s", "quit", NULL };
    pid_t old[WS_MAX_PROCS], now[WS_MAX_PROCS];
    struct ws_run_result res;
    int64_t deadline;
    int n, stale, status;

    write_pidfile_config(ws);
    assert_int_equal(ws_start(ws, NULL), 0);
    assert_int_equal(wait_pid_file(ws->pid_file), ws->pid);
    assert_int_equal(ws_wait_children(ws->pid, 2, WS_WAIT_MS, old), 2);

    res = run(reload);
    if (res.code != 0) {
        fail_msg("-s reload exited %d, stderr '%s'", res.code, res.err);
    }
    ws_run_result_free(&res);

    /* the reload shows as a new generation of workers */
    deadline = ws_now_ms() + 40000;
    for (;;) {
        n = ws_children(ws->pid, now, WS_MAX_PROCS);
        stale = 0;
        for (int i = 0; i < n; i++) {
            stale += ws_pid_in(now[i], old, 2);
        }
        if (n == 2 && stale == 0) {
            break;
        }
        if (ws_now_ms() >= deadline) {
            fail_msg("after -s reload: %d children, %d of them old", n, stale);
        }
        ws_sleep_ms(20);
    }
    expect_index(ws->port);

    res = run(quit);
    if (res.code != 0) {
        fail_msg("-s quit exited %d, stderr '%s'", res.code, res.err);
    }
    ws_run_result_free(&res);
    if (ws_wait_exit(ws, 30000, &status) == -1) {
        fail_msg("master still running 30 s after -s quit");
    }
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(ws_wait_pids_gone(now, n, 10000), 0);
    ws->passed = true;
}

static void
test_cli_signal_stop(void **state)
{
    struct ws_server *ws = *state;
    const char *stop[] = { "-c", ws->conf, "-s", "stop", NULL };
    struct ws_run_result res;
    pid_t kids[WS_MAX_PROCS];
    int status;

    write_pidfile_config(ws);
    assert_int_equal(ws_start(ws, NULL), 0);
    assert_int_equal(wait_pid_file(ws->pid_file), ws->pid);
    assert_int_equal(ws_wait_children(ws->pid, 2, WS_WAIT_MS, kids), 2);

    res = run(stop);
    if (res.code != 0) {
        fail_msg("-s stop exited %d, stderr '%s'", res.code, res.err);
    }
    ws_run_result_free(&res);
    if (ws_wait_exit(ws, 10000, &status) == -1) {
        fail_msg("master still running 10 s after -s stop");
    }
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(ws_wait_pids_gone(kids, 2, 10000), 0);
    ws->passed = true;
}

static void
test_cli_signal_without_server_exits_1(void **state)
{
    struct ws_server *ws = *state;
    const char *quit[] = { "-c", ws->conf, "-s", "quit", NULL };
    const char *reload[] = { "-c", ws->conf, "-s", "reload", NULL };
    struct ws_run_result res;

    write_pidfile_config(ws);       /* the pid file does not exist */
    res = run(quit);
    if (res.code != 1) {
        fail_msg("-s quit with no server exited %d, stderr '%s'", res.code,
                 res.err);
    }
    ws_run_result_free(&res);
    res = run(reload);
    if (res.code != 1) {
        fail_msg("-s reload with no server exited %d, stderr '%s'", res.code,
                 res.err);
    }
    ws_run_result_free(&res);
    ws->passed = true;
}

static void
test_cli_daemonize(void **state)
{
    struct ws_server *ws = *state;
    const char *args[] = { "-d", "-c", ws->conf, NULL };
    pid_t kids[WS_MAX_PROCS];
    struct ws_run_result res;
    long pid;
    int n;

    write_pidfile_config(ws);
    res = run(args);
    if (res.code != 0) {
        fail_msg("-d: launcher exited %d, stderr '%s'", res.code, res.err);
    }
    ws_run_result_free(&res);

    pid = wait_pid_file(ws->pid_file);
    if (pid <= 0 || !ws_pid_alive((pid_t) pid)) {
        fail_msg("-d: pid file %s names %ld, not a running process",
                 ws->pid_file, pid);
    }
    /* from here ws_cleanup() stops it by that pid */
    ws->pid = (pid_t) pid;
    ws->is_child = false;
    ws->running = true;
    assert_int_equal(ws_wait_ready(ws, 10000), 0);
    expect_index(ws->port);
    n = ws_wait_children(ws->pid, 2, WS_WAIT_MS, kids);
    assert_int_equal(n, 2);
    fprintf(stderr, "daemon master %ld (sid %ld), workers %d %d\n", pid,
            (long) getsid((pid_t) pid), (int) kids[0], (int) kids[1]);

    assert_int_equal(ws_signal(ws, SIGTERM), 0);
    if (ws_wait_exit(ws, WS_WAIT_MS, NULL) == -1) {
        fail_msg("daemon master %ld still running %d ms after SIGTERM", pid,
                 WS_WAIT_MS);
    }
    assert_int_equal(ws_wait_pids_gone(kids, n, WS_WAIT_MS), 0);
    ws->passed = true;
}

/* An IPv6 literal as ADDRESS: the server listens on [::1] only. The
 * harness probes 127.0.0.1, so this test starts and talks to it itself. */
static void
test_cli_ipv6_listen(void **state)
{
    struct ws_server *ws = *state;
    struct sockaddr_in6 sa;
    char buf[256];
    const char req[] = "GET /index.html HTTP/1.1\r\nHost: x\r\n"
                       "Connection: close\r\n\r\n";
    long port = -1;
    ssize_t n;
    pid_t pid;
    int fd, status;

    assert_int_equal(ws_write_config(ws, "processes = 1\n"), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int out = open(ws->stderr_log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(out, 1);
        dup2(out, 2);
        execl(ws_bin(), ws_bin(), "-c", ws->conf, "::1", "0", "1", (char *) NULL);
        _exit(127);
    }
    for (int i = 0; i < 500 && (port = ws_read_number(ws->port_file)) <= 0; i++)
        ws_sleep_ms(20);
    if (port <= 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        fail_msg("no port file from a server on ::1");
    }

    memset(&sa, 0, sizeof(sa));
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons((uint16_t) port);
    sa.sin6_addr = in6addr_loopback;
    fd = socket(AF_INET6, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
    assert_int_equal(write(fd, req, sizeof(req) - 1), (ssize_t) sizeof(req) - 1);
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    assert_true(n > 12);
    buf[n] = '\0';
    assert_memory_equal(buf, "HTTP/1.1 200", 12);
    /* IPv6 only: nothing answers on 127.0.0.1 at that port */
    {
        struct http_conn c;
        assert_int_equal(http_conn_open(&c, (int) port), -1);
    }
    kill(pid, SIGTERM);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    ws->passed = true;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cli_help, setup, ws_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_cli_version, setup, ws_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_cli_bad_arguments_exit_1,
                                        setup, ws_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_cli_signal_reload_then_quit,
                                        setup, ws_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_cli_signal_stop,
                                        setup, ws_fixture_teardown),
        cmocka_unit_test_setup_teardown(
            test_cli_signal_without_server_exits_1, setup, ws_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_cli_daemonize, setup, ws_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_cli_ipv6_listen, setup, ws_fixture_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
