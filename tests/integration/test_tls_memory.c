/* test_tls_memory.c - worker RSS stays flat under 50 slow downloads of a
 * 512 MiB sparse file over HTTPS, all open at once: the TLS transport
 * sends files through kTLS or one bounded buffer per connection, never
 * the file. The clients are OpenSSL (libssl linked in) on blocking
 * sockets; the certificate is made by `openssl req`.
 * SPDX-License-Identifier: MIT */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
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

static SSL_CTX *client_ctx;

static int
setup(void **state)
{
    struct ws_server *ws;
    char path[WS_PATH_MAX + 32], cmd[4 * WS_PATH_MAX + 256];

    if (ws_fixture_setup(state) == -1)
        return -1;
    ws = *state;
    snprintf(path, sizeof(path), "%s/a.txt", ws->root);
    if (ws_write_text(path, A_TEXT) == -1)
        return -1;
    snprintf(path, sizeof(path), "%s/big.bin", ws->root);
    if (ws_write_sparse_file(path, BIG_SIZE) == -1)
        return -1;
    snprintf(cmd, sizeof(cmd), "openssl req -x509 -newkey ec -pkeyopt "
             "ec_paramgen_curve:prime256v1 -keyout %s/c.key -out %s/c.pem "
             "-days 2 -nodes -subj /CN=localhost >/dev/null 2>&1",
             ws->dir, ws->dir);
    if (system(cmd) != 0)
        return -1;
    client_ctx = SSL_CTX_new(TLS_client_method());
    return client_ctx != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
    SSL_CTX_free(client_ctx);
    client_ctx = NULL;
    return ws_fixture_teardown(state);
}

/* Start WS with HTTPS on; the bound TLS port. */
static int
start_tls(struct ws_server *ws, const char *more)
{
    char conf[4096], path[WS_PATH_MAX + 32];
    long port;

    snprintf(conf, sizeof(conf),
             "tls_port = 0\n"
             "tls_port_file = %s/tlsport\n"
             "tls_certificate = %s/c.pem\n"
             "tls_certificate_key = %s/c.key\n"
             "%s", ws->dir, ws->dir, ws->dir, more);
    assert_int_equal(ws_start_conf(ws, conf), 0);
    snprintf(path, sizeof(path), "%s/tlsport", ws->dir);
    assert_true(ws_wait_exists(path, WS_WAIT_MS));
    port = ws_read_number(path);
    assert_true(port > 0);
    return (int) port;
}

/* A TLS client on C (connected): handshake and send REQ. NULL on failure
 * (reason in WHY). */
static SSL *
tls_open(struct http_conn *c, const char *req, char *why, size_t whylen)
{
    SSL *ssl = SSL_new(client_ctx);

    if (ssl == NULL || SSL_set_fd(ssl, c->fd) != 1
        || SSL_connect(ssl) != 1
        || SSL_write(ssl, req, (int) strlen(req)) != (int) strlen(req)) {
        unsigned long e = ERR_get_error();
        snprintf(why, whylen, "TLS: %s",
                 e ? ERR_reason_error_string(e) : strerror(errno));
        SSL_free(ssl);
        return NULL;
    }
    return ssl;
}

/* One whole response to a request with Content-Length LEN bytes of body
 * expected after the head; returns the status or -1. */
static int
tls_get(int port, const char *req, size_t body_len)
{
    struct http_conn c;
    char buf[16384], why[128];
    size_t got = 0, head = 0;
    int status = -1;
    SSL *ssl;

    if (http_conn_open(&c, port) != 0)
        return -1;
    ssl = tls_open(&c, req, why, sizeof(why));
    if (ssl == NULL) {
        print_error("%s\n", why);
        http_conn_close(&c);
        return -1;
    }
    for (;;) {
        int n = SSL_read(ssl, buf, sizeof(buf));
        if (n <= 0)
            break;
        if (head == 0) {
            char *end = memmem(buf, (size_t) n, "\r\n\r\n", 4);
            if (strncmp(buf, "HTTP/1.1 ", 9) == 0)
                status = atoi(buf + 9);
            if (end != NULL)
                head = (size_t) (end + 4 - buf);
        }
        got += (size_t) n;
        if (head > 0 && got >= head + body_len)
            break;
    }
    SSL_shutdown(ssl);
    SSL_free(ssl);
    http_conn_close(&c);
    return status;
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
    if (strstr(head, "\r\n\r\n") == NULL)
        return;
    if (strncmp(head, "HTTP/1.1 ", 9) == 0)
        d->status = atoi(head + 9);
    cl = strcasestr(head, "\r\nContent-Length:");
    if (cl != NULL)
        d->length = strtoll(cl + 17, NULL, 10);
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
    SSL *ssl = NULL;

    d->length = -1;
    c.fd = -1;
    pthread_barrier_wait(d->go);
    if (buf == NULL || http_conn_open(&c, d->port) == -1) {
        snprintf(d->why, sizeof(d->why), "connect: %s", http_strerror());
        d->cut_off = true;
        goto done;
    }
    ssl = tls_open(&c, "GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n",
                   d->why, sizeof(d->why));
    if (ssl == NULL) {
        d->cut_off = true;
        goto done;
    }
    while (!atomic_load(d->stop)) {
        size_t tick = 0;

        while (tick < TICK_BYTES) {
            int n = SSL_read(ssl, buf + tick, (int) (TICK_BYTES - tick));
            if (n <= 0) {
                snprintf(d->why, sizeof(d->why), "SSL_read error %d after "
                         "%zu bytes", SSL_get_error(ssl, n), d->received);
                d->cut_off = true;
                goto done;
            }
            if (d->status == 0 && d->received == 0)
                download_head(d, buf, (size_t) n);
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
    if (!counted)
        atomic_fetch_add(d->settled, 1);
    SSL_free(ssl);
    ERR_clear_error();
    if (c.fd >= 0)
        http_conn_close(&c);
    free(buf);
    return NULL;
}

static void
test_tls_memory_flat_under_slow_downloads(void **state)
{
    struct ws_server *ws = *state;
    static struct download dl[NDOWNLOADS];   /* no leak on a failure */
    pid_t kids[WS_MAX_PROCS];
    struct ws_watch watch;
    pthread_barrier_t go;
    atomic_int settled = 0;
    atomic_bool stop = false;
    int failed = 0, port;

    memset(dl, 0, sizeof(dl));
    if (ws_bin_sanitizer(ws_bin()) != NULL) {
        /* ASan's quarantine keeps 256 MiB of freed blocks: OpenSSL's
         * record buffers, taken and given back on every write
         * (SSL_MODE_RELEASE_BUFFERS), would look like growth. Reuse them
         * at once, as malloc does */
        const char *old = getenv("ASAN_OPTIONS");
        char opts[1024];
        snprintf(opts, sizeof(opts), "%s%squarantine_size_mb=0",
                 old != NULL ? old : "", old != NULL && *old ? ":" : "");
        assert_int_equal(setenv("ASAN_OPTIONS", opts, 1), 0);
    }
    port = start_tls(ws, "processes = 2\n");
    assert_int_equal(ws_wait_children(ws->pid, NWORKERS, WS_WAIT_MS, kids),
                     NWORKERS);

    /* warm up both workers on the same paths (a range of the big file
     * included, handshakes and all), then take the baseline */
    for (int i = 0; i < 4 * NWORKERS; i++) {
        assert_int_equal(tls_get(port, "GET /big.bin HTTP/1.1\r\n"
                                 "Host: localhost\r\nRange: bytes=0-65535"
                                 "\r\nConnection: close\r\n\r\n", 65536),
                         206);
        assert_int_equal(tls_get(port, "GET /a.txt HTTP/1.1\r\n"
                                 "Host: localhost\r\nConnection: close"
                                 "\r\n\r\n", strlen(A_TEXT)), 200);
    }
    /* the baseline once the server has closed all of them */
    assert_int_equal(ws_wait_tcp_server_conns(port, 0, WS_WAIT_MS), 0);
    assert_int_equal(ws_watch_start(&watch, kids, NWORKERS), 0);

    assert_int_equal(pthread_barrier_init(&go, NULL, NDOWNLOADS + 1), 0);
    for (int i = 0; i < NDOWNLOADS; i++) {
        dl[i].port = port;
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
                     "TLS downloads", (int) kids[w],
                     watch.peak_kb[w] - watch.before_kb[w],
                     MAX_GROWTH_KB);
        }
    }
    ws->passed = true;
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_tls_memory_flat_under_slow_downloads, setup, teardown),
    };

    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
