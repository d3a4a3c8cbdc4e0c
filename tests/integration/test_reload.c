/* test_reload.c - SIGHUP: a new generation of workers replaces the old one
 * while a client keeps requesting, a broken config keeps the old workers, and
 * an old worker that cannot drain is killed after shutdown_timeout.
 * A client thread sends GETs on new connections and on a keep-alive one; per
 * RFC 9112 9.3.1 it retries once, on a fresh connection, a request whose
 * reused keep-alive connection closed before any byte of the response.
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>

#include "harness.h"

#define PAGE_SIZE   3000
#define PAGE_SEED   7
#define DRAIN_MS    40000   /* shutdown_timeout (10s) + generous slack */

struct client {
    int           port;
    const char   *path;
    const char   *expect;
    size_t        expect_len;
    atomic_bool   stop;
    atomic_long   fresh_ok;      /* GETs on new connections */
    atomic_long   keepalive_ok;  /* GETs on the reused connection */
    atomic_long   retries;       /* RFC 9112 9.3.1 retries that succeeded */
    atomic_long   failures;
    char          first_failure[512];   /* written by the thread only */
};

/* The running client thread, so teardown can stop it after a failed
 * assertion longjmp'ed out of the test. */
static struct client *running_client;
static pthread_t running_tid;

static void
client_stop(void)
{
    if (running_client != NULL) {
        atomic_store(&running_client->stop, true);
        pthread_join(running_tid, NULL);
        running_client = NULL;
    }
}

static int
setup(void **state)
{
    struct ws_server *ws = calloc(1, sizeof(*ws));
    char path[WS_PATH_MAX + 64];
    char *page = malloc(PAGE_SIZE);

    if (ws == NULL || page == NULL || ws_init(ws) == -1) {
        free(ws);
        free(page);
        return -1;
    }
    ws_random_fill(page, PAGE_SIZE, PAGE_SEED);
    snprintf(path, sizeof(path), "%s/page.bin", ws->root);
    if (ws_write_file(path, page, PAGE_SIZE) == -1) {
        free(page);
        ws_cleanup(ws);
        free(ws);
        return -1;
    }
    free(page);
    *state = ws;
    return 0;
}

static int
teardown(void **state)
{
    int rc;

    client_stop();
    rc = ws_cleanup(*state);
    free(*state);
    return rc;
}

/* ---- The client thread ---- */

static bool
response_ok(const struct client *cl, int rc, const struct http_resp *r,
            char *why, size_t len)
{
    if (rc != HTTP_OK) {
        snprintf(why, len, "%s (rc %d)", http_strerror(), rc);
        return false;
    }
    if (r->status != 200) {
        snprintf(why, len, "status %d", r->status);
        return false;
    }
    if (r->body_len != cl->expect_len
        || memcmp(r->body, cl->expect, cl->expect_len) != 0) {
        snprintf(why, len, "body of %zu bytes differs", r->body_len);
        return false;
    }
    return true;
}

static void
client_fail(struct client *cl, const char *what, const char *why)
{
    if (atomic_fetch_add(&cl->failures, 1) == 0) {
        snprintf(cl->first_failure, sizeof(cl->first_failure), "%s: %s",
                 what, why);
    }
}

static void *
client_main(void *arg)
{
    struct client *cl = arg;
    struct http_conn ka = { .fd = -1 };

    while (!atomic_load(&cl->stop)) {
        struct http_resp r;
        char why[300];
        bool reused;
        int rc;

        rc = http_get(cl->port, cl->path, &r);
        if (response_ok(cl, rc, &r, why, sizeof(why))) {
            atomic_fetch_add(&cl->fresh_ok, 1);
        } else {
            client_fail(cl, "new connection", why);
        }
        http_resp_free(&r);

        if (ka.fd < 0 && http_conn_open(&ka, cl->port) == -1) {
            client_fail(cl, "keep-alive connect", http_strerror());
            continue;
        }
        reused = ka.responses > 0;
        rc = http_request(&ka, "GET", cl->path, NULL, &r);
        if (rc == HTTP_CLOSED_EARLY && reused) {
            http_conn_close(&ka);
            rc = http_get(cl->port, cl->path, &r);
            if (response_ok(cl, rc, &r, why, sizeof(why))) {
                atomic_fetch_add(&cl->retries, 1);
            } else {
                client_fail(cl, "retry after closed keep-alive", why);
            }
            http_resp_free(&r);
            continue;
        }
        if (response_ok(cl, rc, &r, why, sizeof(why))) {
            atomic_fetch_add(&cl->keepalive_ok, 1);
            if (!r.keepalive) {
                http_conn_close(&ka);
            }
        } else {
            client_fail(cl, reused ? "reused keep-alive connection"
                                   : "first request on keep-alive connection",
                        why);
            http_conn_close(&ka);
        }
        http_resp_free(&r);
    }
    http_conn_close(&ka);
    return NULL;
}

/* Wait (bounded) until both kinds of request made MORE progress. */
static void
client_wait_progress(struct client *cl, long more)
{
    long f0 = atomic_load(&cl->fresh_ok), k0 = atomic_load(&cl->keepalive_ok);
    int64_t deadline = ws_now_ms() + 20000;

    while (atomic_load(&cl->fresh_ok) < f0 + more
           || atomic_load(&cl->keepalive_ok) < k0 + more) {
        if (ws_now_ms() >= deadline) {
            fail_msg("client stalled: %ld new-connection and %ld keep-alive "
                     "GETs ok, %ld failures (first: %s)",
                     atomic_load(&cl->fresh_ok),
                     atomic_load(&cl->keepalive_ok),
                     atomic_load(&cl->failures), cl->first_failure);
        }
        ws_sleep_ms(20);
    }
}

/* ---- Helpers ---- */

static void
write_processes_config(struct ws_server *ws, int processes)
{
    char text[256];

    snprintf(text, sizeof(text), "# test_reload\nprocesses = %d\n"
             "shutdown_timeout = 10s\n", processes);
    assert_int_equal(ws_write_config(ws, text), 0);
}

/* After SIGHUP: wait (at most TIMEOUT_MS) until the master has exactly WANT
 * children and none of OLD[0..NOLD) is among them or alive. Fills NOW. */
static void
wait_new_generation_ms(struct ws_server *ws, const pid_t *old, int nold,
                       int want, pid_t *now, int timeout_ms)
{
    int64_t t0 = ws_now_ms(), deadline = t0 + timeout_ms;
    int n, i, stale, alive;

    for (;;) {
        n = ws_children(ws->pid, now, WS_MAX_PROCS);
        stale = 0;
        for (i = 0; i < n; i++) {
            stale += ws_pid_in(now[i], old, nold);
        }
        alive = 0;
        for (i = 0; i < nold; i++) {
            alive += ws_pid_alive(old[i]);
        }
        if (n == want && stale == 0 && alive == 0) {
            break;
        }
        if (ws_now_ms() >= deadline || !ws_pid_alive(ws->pid)) {
            fail_msg("after SIGHUP: %d children (want %d), %d of them old, "
                     "%d old workers alive, master %s", n, want, stale, alive,
                     ws_pid_alive(ws->pid) ? "alive" : "gone");
        }
        ws_sleep_ms(20);
    }
    fprintf(stderr, "new generation of %d after %lld ms:", n,
            (long long) (ws_now_ms() - t0));
    for (i = 0; i < n; i++) {
        fprintf(stderr, " %d", (int) now[i]);
    }
    fputc('\n', stderr);
}

static void
wait_new_generation(struct ws_server *ws, const pid_t *old, int nold,
                    int want, pid_t *now)
{
    wait_new_generation_ms(ws, old, nold, want, now, DRAIN_MS);
}

/* true when LOG has "NAME:LINE" not followed by another digit. */
static bool
log_names_line(const char *log, const char *name, int line)
{
    char needle[128];
    char *text = ws_read_file(log, NULL);
    const char *p;
    bool found = false;

    if (text == NULL) {
        return false;
    }
    snprintf(needle, sizeof(needle), "%s:%d", name, line);
    for (p = strstr(text, needle); p && !found; p = strstr(p + 1, needle)) {
        char next = p[strlen(needle)];
        found = next < '0' || next > '9';
    }
    free(text);
    return found;
}

/* ---- Tests ---- */

/* Start the server with 2 workers and the client thread on /page.bin.
 * Fills OLD with the first generation. */
static struct client *
start_with_client(struct ws_server *ws, pid_t *old)
{
    struct client *cl = calloc(1, sizeof(*cl));
    char path[WS_PATH_MAX + 64];
    size_t len;

    assert_non_null(cl);
    snprintf(path, sizeof(path), "%s/page.bin", ws->root);
    cl->expect = ws_read_file(path, &len);
    assert_non_null(cl->expect);
    cl->expect_len = len;
    cl->path = "/page.bin";

    write_processes_config(ws, 2);
    assert_int_equal(ws_start(ws, NULL), 0);
    assert_int_equal(ws_wait_children(ws->pid, 2, WS_WAIT_MS, old), 2);
    cl->port = ws->port;

    assert_int_equal(pthread_create(&running_tid, NULL, client_main, cl), 0);
    running_client = cl;
    client_wait_progress(cl, 20);
    return cl;
}

/* Stop the client thread, report its counts, fail on any failure. */
static void
finish_client(struct client *cl)
{
    client_stop();
    fprintf(stderr, "client: %ld new-connection GETs, %ld keep-alive GETs, "
            "%ld retries (RFC 9112 9.3.1), %ld failures\n",
            atomic_load(&cl->fresh_ok), atomic_load(&cl->keepalive_ok),
            atomic_load(&cl->retries), atomic_load(&cl->failures));
    if (atomic_load(&cl->failures) != 0) {
        fail_msg("%ld client failures, first: %s",
                 atomic_load(&cl->failures), cl->first_failure);
    }
    free((void *) cl->expect);
    free(cl);
}

static void
test_reload_new_generation_without_client_failures(void **state)
{
    struct ws_server *ws = *state;
    pid_t old[WS_MAX_PROCS], now[WS_MAX_PROCS];
    struct client *cl = start_with_client(ws, old);

    write_processes_config(ws, 3);
    assert_int_equal(ws_signal(ws, SIGHUP), 0);
    wait_new_generation(ws, old, 2, 3, now);

    client_wait_progress(cl, 50);
    finish_client(cl);
    assert_true(ws_pid_alive(ws->pid));
    ws->passed = true;
}

/* The same, ten times over, alternating 3 and 2 workers. */
static void
test_reload_repeated_without_client_failures(void **state)
{
    struct ws_server *ws = *state;
    pid_t old[WS_MAX_PROCS], now[WS_MAX_PROCS];
    struct client *cl = start_with_client(ws, old);
    int nold = 2;

    for (int i = 0; i < 10; i++) {
        int want = i % 2 == 0 ? 3 : 2;

        write_processes_config(ws, want);
        assert_int_equal(ws_signal(ws, SIGHUP), 0);
        wait_new_generation(ws, old, nold, want, now);
        memcpy(old, now, (size_t) want * sizeof(pid_t));
        nold = want;
        client_wait_progress(cl, 10);
    }
    finish_client(cl);
    assert_true(ws_pid_alive(ws->pid));
    ws->passed = true;
}

static void
test_reload_broken_config_keeps_workers(void **state)
{
    struct ws_server *ws = *state;
    pid_t old[WS_MAX_PROCS], gen[WS_MAX_PROCS], now[WS_MAX_PROCS];
    int n, i;

    write_processes_config(ws, 2);
    assert_int_equal(ws_start(ws, NULL), 0);
    assert_int_equal(ws_wait_children(ws->pid, 2, WS_WAIT_MS, old), 2);

    write_processes_config(ws, 3);
    assert_int_equal(ws_signal(ws, SIGHUP), 0);
    wait_new_generation(ws, old, 2, 3, gen);

    /* line 3 is broken */
    assert_int_equal(ws_write_config(ws, "processes = 3\n"
                                         "shutdown_timeout = 10s\n"
                                         "this line is not a setting\n"), 0);
    assert_int_equal(ws_signal(ws, SIGHUP), 0);
    if (!ws_wait_file_contains(ws->error_log, "webserver.conf:3", 10000)
        || !log_names_line(ws->error_log, "webserver.conf", 3)) {
        fail_msg("error log %s does not name webserver.conf:3%s",
                 ws->error_log,
                 ws_file_contains(ws->stderr_log, "webserver.conf:3")
                     ? " (stderr.log does)" : "");
    }

    /* the same three keep serving */
    for (i = 0; i < 9; i++) {
        struct http_resp r;
        int rc = http_get(ws->port, "/page.bin", &r);
        if (rc != HTTP_OK) {
            fail_msg("GET after broken reload: %s", http_strerror());
        }
        assert_int_equal(r.status, 200);
        assert_int_equal(r.body_len, PAGE_SIZE);
        http_resp_free(&r);
    }
    n = ws_children(ws->pid, now, WS_MAX_PROCS);
    assert_int_equal(n, 3);
    assert_memory_equal(now, gen, 3 * sizeof(pid_t));
    assert_true(ws_pid_alive(ws->pid));
    ws->passed = true;
}

/* An old worker that cannot drain (SIGSTOP) is killed by the master once
 * shutdown_timeout (1s here) and its grace are over; the bound below is
 * only there so nothing hangs. */
static void
test_reload_hung_old_worker_is_killed(void **state)
{
    struct ws_server *ws = *state;
    pid_t old[WS_MAX_PROCS], now[WS_MAX_PROCS];

    assert_int_equal(ws_start_conf(ws, "processes = 1\n"
                                       "shutdown_timeout = 1s\n"), 0);
    assert_int_equal(ws_wait_children(ws->pid, 1, WS_WAIT_MS, old), 1);
    {
        /* the worker serves (its generation took over), then hangs */
        struct http_resp r;
        assert_int_equal(http_get(ws->port, "/page.bin", &r), HTTP_OK);
        assert_int_equal(r.status, 200);
        http_resp_free(&r);
    }
    assert_int_equal(kill(old[0], SIGSTOP), 0);

    assert_int_equal(ws_write_config(ws, "processes = 1\n"
                                         "shutdown_timeout = 1s\n"), 0);
    assert_int_equal(ws_signal(ws, SIGHUP), 0);
    wait_new_generation_ms(ws, old, 1, 1, now, 15000);
    ws->passed = true;
}

/* A reload that changes the port binds the new one (port_file follows),
 * serves there, and stops listening on the old one. */
static void
test_reload_rebinds_changed_port(void **state)
{
    struct ws_server *ws = *state;
    struct http_conn c;
    struct http_resp r;
    char conf[128];
    int old, port = -1;

    assert_int_equal(ws_start_conf(ws, "processes = 1\n"), 0);
    old = ws->port;
    port = ws_free_port();
    assert_true(port > 0 && port != old);
    snprintf(conf, sizeof(conf), "processes = 1\nport = %d\n", port);
    assert_int_equal(ws_write_config(ws, conf), 0);
    assert_int_equal(ws_signal(ws, SIGHUP), 0);
    for (int i = 0; i < 500 && ws_read_number(ws->port_file) != port; i++)
        ws_sleep_ms(20);
    assert_int_equal(ws_read_number(ws->port_file), port);
    ws->port = port;

    assert_int_equal(http_get(port, "/page.bin", &r), HTTP_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, PAGE_SIZE);
    http_resp_free(&r);
    /* the old listen socket is closed: nothing accepts there any more */
    assert_int_equal(http_conn_open(&c, old), -1);
    assert_true(ws_file_contains(ws->error_log, "reload done"));
    ws->passed = true;
}

/* A reload that changes only the backlog keeps the listen socket (binding
 * the same address and port a second time would fail) and goes ahead. */
static void
test_reload_backlog_only(void **state)
{
    struct ws_server *ws = *state;
    pid_t before[WS_MAX_PROCS], after[WS_MAX_PROCS];
    struct http_resp r;
    char conf[128];

    assert_int_equal(ws_start_conf(ws, "processes = 1\nbacklog = 128\n"), 0);
    assert_int_equal(ws_wait_children(ws->pid, 1, WS_WAIT_MS, before), 1);
    /* keep the bound port, or port = 0 would ask for a new one */
    snprintf(conf, sizeof(conf), "processes = 1\nbacklog = 256\nport = %d\n",
             ws->port);
    assert_int_equal(ws_write_config(ws, conf), 0);
    assert_int_equal(ws_signal(ws, SIGHUP), 0);
    assert_true(ws_wait_file_contains(ws->error_log, "reload done", 10000));
    assert_int_equal(ws_wait_children(ws->pid, 1, 10000, after), 1);
    assert_true(after[0] != before[0]);
    assert_int_equal(http_get(ws->port, "/page.bin", &r), HTTP_OK);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    ws->passed = true;
}

/* A reload to an address that cannot be bound keeps everything running. */
static void
test_reload_bind_failure_keeps_running(void **state)
{
    struct ws_server *ws = *state;
    pid_t before[WS_MAX_PROCS], after[WS_MAX_PROCS];
    struct http_resp r;

    assert_int_equal(ws_start_conf(ws, "processes = 1\n"), 0);
    assert_int_equal(ws_wait_children(ws->pid, 1, WS_WAIT_MS, before), 1);
    /* a literal this host does not have: bind() fails with EADDRNOTAVAIL */
    assert_int_equal(ws_write_config(ws, "processes = 1\n"
                                         "listen_address = 192.0.2.1\n"), 0);
    assert_int_equal(ws_signal(ws, SIGHUP), 0);
    assert_true(ws_wait_file_contains(ws->error_log, "keeping the running "
                                      "configuration", 10000));
    assert_int_equal(ws_children(ws->pid, after, WS_MAX_PROCS), 1);
    assert_int_equal(after[0], before[0]);
    assert_int_equal(http_get(ws->port, "/page.bin", &r), HTTP_OK);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    ws->passed = true;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_reload_new_generation_without_client_failures,
            setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_reload_repeated_without_client_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_reload_broken_config_keeps_workers, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_reload_hung_old_worker_is_killed, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_reload_rebinds_changed_port, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_reload_bind_failure_keeps_running, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_backlog_only, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
