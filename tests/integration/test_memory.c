/* test_memory.c - worker RSS stays flat under 50 slow downloads of a
 * 512 MiB sparse file, all open at once, and a server at max_connections
 * answers 503 without hurting the connection it serves.
 * SPDX-License-Identifier: MIT */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness.h"

#define BIG_SIZE      ((off_t) 512 << 20)
#define NDOWNLOADS    50
#define NWORKERS      2
#define TICK_BYTES    (64 * 1024)       /* read this much ... */
#define TICK_MS       10                /* ... then sleep this long */
#define MIN_BYTES     ((size_t) 1 << 20) /* once every download got this, */
#define SAMPLES       25                /* this many more samples, 100 ms
                                         * apart, then all close (none gets
                                         * near the end of the file) */
#define MAX_GROWTH_KB (8 * 1024)
#define A_TEXT        "file a\n"

static int
setup(void **state)
{
    struct ws_server *ws;
    char path[WS_PATH_MAX + 32];

    if (ws_fixture_setup(state) == -1)
        return -1;
    ws = *state;
    snprintf(path, sizeof(path), "%s/a.txt", ws->root);
    if (ws_write_text(path, A_TEXT) == -1) {
        return -1;
    }
    snprintf(path, sizeof(path), "%s/big.bin", ws->root);
    return ws_write_sparse_file(path, BIG_SIZE);
}

/* ---- Slow downloads ---- */

struct download {
    pthread_t         thread;
    int               port;
    pthread_barrier_t *go;
    atomic_int        *settled;     /* downloads past MIN_BYTES or cut off */
    atomic_bool       *stop;        /* set by the test: close and return */
    /* results, read after the join */
    int               status;       /* from the status line, 0 if none */
    long long         length;       /* Content-Length, -1 if none */
    size_t            received;     /* bytes, head included */
    bool              cut_off;      /* EOF or error before STOP */
    char              why[128];
};

/* Parse the status and Content-Length once the head is in BUF[0, LEN). */
static void
download_head(struct download *d, const char *buf, size_t len)
{
    char head[4096];
    const char *cl;
    size_t n = len < sizeof(head) - 1 ? len : sizeof(head) - 1;

    memcpy(head, buf, n);
    head[n] = '\0';
    if (strstr(head, "\r\n\r\n") == NULL) {
        return;
    }
    if (strncmp(head, "HTTP/1.1 ", 9) == 0) {
        d->status = atoi(head + 9);
    }
    cl = strcasestr(head, "\r\nContent-Length:");
    if (cl != NULL) {
        d->length = strtoll(cl + 17, NULL, 10);
    }
}

/* Read TICK_BYTES, sleep TICK_MS, until *STOP; counts itself into
 * *SETTLED once past MIN_BYTES, or when cut off, so the test never waits
 * for a download that cannot get there. */
static void *
download_run(void *arg)
{
    struct download *d = arg;
    struct http_conn c;
    bool counted = false;
    char *buf = malloc(TICK_BYTES);

    d->length = -1;
    c.fd = -1;
    pthread_barrier_wait(d->go);
    if (buf == NULL || http_conn_open(&c, d->port) == -1) {
        snprintf(d->why, sizeof(d->why), "connect: %s", http_strerror());
        d->cut_off = true;
        goto done;
    }
    if (http_send_request(&c, "GET", "/big.bin", NULL) != HTTP_OK) {
        snprintf(d->why, sizeof(d->why), "send: %s", http_strerror());
        d->cut_off = true;
        goto done;
    }
    while (!atomic_load(d->stop)) {
        size_t tick = 0;

        while (tick < TICK_BYTES) {
            ssize_t n = recv(c.fd, buf + tick, TICK_BYTES - tick, 0);
            if (n <= 0) {
                snprintf(d->why, sizeof(d->why), "%s after %zu bytes",
                         n == 0 ? "EOF" : strerror(errno), d->received);
                d->cut_off = true;
                goto done;
            }
            if (d->status == 0 && d->received == 0) {
                download_head(d, buf, (size_t) n);
            }
            tick += (size_t) n;
            d->received += (size_t) n;
        }
        if (!counted && d->received >= MIN_BYTES) {
            counted = true;
            atomic_fetch_add(d->settled, 1);
        }
        ws_sleep_ms(TICK_MS);           /* the slow reader's pace */
    }
done:
    if (!counted) {
        atomic_fetch_add(d->settled, 1);
    }
    if (c.fd >= 0) {
        http_conn_close(&c);
    }
    free(buf);
    return NULL;
}

static void
test_http_memory_flat_under_slow_downloads(void **state)
{
    struct ws_server *ws = *state;
    struct download *dl = calloc(NDOWNLOADS, sizeof(*dl));
    pid_t kids[WS_MAX_PROCS];
    struct ws_watch watch;
    pthread_barrier_t go;
    atomic_int settled = 0;
    atomic_bool stop = false;
    int failed = 0;

    assert_non_null(dl);
    assert_int_equal(ws_start_conf(ws, "processes = 2\n"), 0);
    assert_int_equal(ws_wait_children(ws->pid, NWORKERS, WS_WAIT_MS, kids),
                     NWORKERS);

    /* warm up both workers on the same paths (a range of the big file
     * included), then take the baseline */
    for (int i = 0; i < 4 * NWORKERS; i++) {
        struct http_conn c;
        struct http_resp r;

        assert_int_equal(http_conn_open(&c, ws->port), 0);
        assert_int_equal(http_request(&c, "GET", "/big.bin",
                                      "Range: bytes=0-65535\r\n", &r),
                         HTTP_OK);
        assert_int_equal(r.status, 206);
        http_resp_free(&r);
        assert_int_equal(http_request(&c, "GET", "/a.txt", NULL, &r),
                         HTTP_OK);
        assert_int_equal(r.status, 200);
        http_resp_free(&r);
        http_conn_close(&c);
    }
    /* the baseline once the server has closed all of them */
    assert_int_equal(ws_wait_tcp_server_conns(ws->port, 0, WS_WAIT_MS), 0);
    assert_int_equal(ws_watch_start(&watch, kids, NWORKERS), 0);

    assert_int_equal(pthread_barrier_init(&go, NULL, NDOWNLOADS + 1), 0);
    for (int i = 0; i < NDOWNLOADS; i++) {
        dl[i].port = ws->port;
        dl[i].go = &go;
        dl[i].settled = &settled;
        dl[i].stop = &stop;
        assert_int_equal(pthread_create(&dl[i].thread, NULL, download_run,
                                        &dl[i]), 0);
    }
    pthread_barrier_wait(&go);

    /* sample while they download: until every one got MIN_BYTES (or was
     * cut off), then SAMPLES more while all of them are open at once. No
     * assert until the join: the threads must be stopped first (the
     * laggards are reported below) */
    ws_watch_sample(&watch, &settled, NDOWNLOADS, SAMPLES, WS_WAIT_MS);
    atomic_store(&stop, true);
    for (int i = 0; i < NDOWNLOADS; i++) {
        pthread_join(dl[i].thread, NULL);
    }
    pthread_barrier_destroy(&go);

    ws_watch_report(&watch);

    /* every download really ran the whole time */
    for (int i = 0; i < NDOWNLOADS; i++) {
        if (dl[i].cut_off || dl[i].status != 200
            || dl[i].length != (long long) BIG_SIZE
            || dl[i].received < MIN_BYTES) {
            fprintf(stderr, "download %d: status %d, length %lld, %zu bytes"
                    "%s%s\n", i, dl[i].status, dl[i].length, dl[i].received,
                    dl[i].cut_off ? ", cut off: " : "", dl[i].why);
            failed++;
        }
    }
    if (failed) {
        fail_msg("%d of %d downloads failed", failed, NDOWNLOADS);
    }
    if (watch.sock_peak < NDOWNLOADS - 2) {
        fail_msg("only %d of %d downloads were open at once", watch.sock_peak,
                 NDOWNLOADS);
    }
    for (int w = 0; w < NWORKERS; w++) {
        if (watch.peak_kb[w] - watch.before_kb[w] >= MAX_GROWTH_KB) {
            fail_msg("worker %d grew by %ld kB (limit %d kB) serving slow "
                     "downloads", (int) kids[w],
                     watch.peak_kb[w] - watch.before_kb[w],
                     MAX_GROWTH_KB);
        }
    }
    free(dl);
    ws->passed = true;
}

/* ---- A full server ---- */

static void
test_http_memory_full_server_answers_503(void **state)
{
    struct ws_server *ws = *state;
    struct http_conn first, second;
    struct http_resp r;
    int64_t deadline;
    int rc;

    assert_int_equal(ws_start_conf(ws, "processes = 1\nmax_connections = 1\n"
                                   "keepalive_timeout = 30s\n"), 0);

    /* the first connection: retry while the readiness probe may still
     * hold the only slot */
    deadline = ws_now_ms() + WS_WAIT_MS;
    for (;;) {
        assert_int_equal(http_conn_open(&first, ws->port), 0);
        rc = http_request(&first, "GET", "/a.txt", NULL, &r);
        if (rc == HTTP_OK && r.status == 200) {
            break;
        }
        if (rc == HTTP_OK) {
            http_resp_free(&r);
        }
        http_conn_close(&first);
        if (ws_now_ms() >= deadline) {
            fail_msg("no slot for the first connection within %d ms",
                     WS_WAIT_MS);
        }
        ws_sleep_ms(50);
    }
    assert_true(r.keepalive);
    http_resp_free(&r);

    /* a second one while the first is open: 503, then closed */
    assert_int_equal(http_conn_open(&second, ws->port), 0);
    rc = http_request(&second, "GET", "/a.txt", NULL, &r);
    if (rc != HTTP_OK) {
        fail_msg("second connection: no response (%s), want 503",
                 http_strerror());
    }
    assert_int_equal(r.status, 503);
    assert_false(r.keepalive);
    http_resp_free(&r);
    http_conn_close(&second);

    /* the first is unaffected */
    for (int i = 0; i < 3; i++) {
        rc = http_request(&first, "GET", "/a.txt", NULL, &r);
        if (rc != HTTP_OK) {
            fail_msg("first connection after the 503: %s", http_strerror());
        }
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, A_TEXT);
        http_resp_free(&r);
    }
    http_conn_close(&first);

    /* and once it is gone, the slot serves again */
    deadline = ws_now_ms() + WS_WAIT_MS;
    for (;;) {
        rc = http_get(ws->port, "/a.txt", &r);
        if (rc == HTTP_OK && r.status == 200) {
            http_resp_free(&r);
            break;
        }
        if (rc == HTTP_OK) {
            http_resp_free(&r);
        }
        if (ws_now_ms() >= deadline) {
            fail_msg("the freed slot is not reused within %d ms", WS_WAIT_MS);
        }
        ws_sleep_ms(50);
    }
    ws->passed = true;
}

int
main(int argc, char **argv)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, ws_fixture_teardown)
    const struct CMUnitTest tests[] = {
        T(test_http_memory_flat_under_slow_downloads),
        T(test_http_memory_full_server_answers_503),
    };
#undef T

    if (argc > 1) {
        cmocka_set_test_filter(argv[1]);
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
