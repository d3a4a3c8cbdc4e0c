/* test_proxy.c - real client addresses and health checks, against the real
 * binary: proxy_protocol (PROXY v1 and v2 headers from a raw socket, whole
 * or in pieces, IPv4 and IPv6, LOCAL; garbage, no header, a header too
 * slow; the TLS port untouched), trusted_proxies (X-Forwarded-For believed
 * from trusted peers only, across hops and lines, after a PROXY header;
 * X-Forwarded-Proto: https against redirect_to_https), and GET /healthz
 * (200, then 503 on a connection of a draining worker, after QUIT and
 * after HUP). The access log is where the client address shows. Every
 * wait is on a condition with a generous deadline.
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "proxy_client.h"

struct fx {
    struct ws_server ws;
    char             log[WS_PATH_MAX];     /* access log */
};

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    char path[WS_PATH_MAX + 32];

    if (f == NULL || ws_init(&f->ws) == -1) {
        free(f);
        return -1;
    }
    *state = f;
    snprintf(f->log, sizeof(f->log), "%s/access.log", f->ws.dir);
    snprintf(path, sizeof(path), "%s/page.html", f->ws.root);
    return ws_write_text(path, "0123456789");
}

static int
teardown(void **state)
{
    struct fx *f = *state;
    int rc = ws_cleanup(&f->ws);

    free(f);
    return rc;
}

/* One worker (so a drain is the whole server's), the access log, INFO
 * (the reasons for closing), then MORE. */
static void
start(struct fx *f, const char *more)
{
    char conf[WS_PATH_MAX * 8];

    snprintf(conf, sizeof(conf), "processes = 1\naccess_log = %s\n"
             "log_level = info\n%s", f->log, more);
    assert_int_equal(ws_start_conf(&f->ws, conf), 0);
}

/* Send DATA[0, LEN) then GET PATH on C; expect WANT. */
static void
get_after(struct http_conn *c, const void *data, size_t len, const char *path,
          const char *extra, int want)
{
    struct http_resp r;

    if (len > 0)
        assert_int_equal(http_send(c, data, len), HTTP_OK);
    assert_int_equal(http_request(c, "GET", path, extra, &r), HTTP_OK);
    if (r.status != want) {
        print_error("GET %s: %d, want %d\n", path, r.status, want);
        fail();
    }
    http_resp_free(&r);
}

/* The server closes C without answering a byte. */
static void
assert_closed_unanswered(struct http_conn *c)
{
    struct http_resp r;

    assert_int_equal(http_read_response(c, false, &r), HTTP_CLOSED_EARLY);
}

/* ---- proxy_protocol ---- */

static void
test_proxy_v1_v2_addresses(void **state)
{
    struct fx *f = *state;
    struct http_conn c;
    uint8_t v2[PC_PROXY_MAX];
    char v1[PC_PROXY_MAX];
    size_t n;

    start(f, "proxy_protocol = on\n");

    /* v1, IPv4; a second request on the connection keeps the address */
    assert_int_equal(pc_connect(&c, NULL, f->ws.port), 0);
    n = pc_proxy_v1(v1, sizeof(v1), "192.0.2.10", 40001, f->ws.port);
    get_after(&c, v1, n, "/page.html?v1-ipv4", NULL, 200);
    get_after(&c, NULL, 0, "/page.html?v1-again", NULL, 200);
    http_conn_close(&c);

    /* v1, IPv6 */
    assert_int_equal(pc_connect(&c, NULL, f->ws.port), 0);
    n = pc_proxy_v1(v1, sizeof(v1), "2001:db8::31", 40002, f->ws.port);
    get_after(&c, v1, n, "/page.html?v1-ipv6", NULL, 200);
    http_conn_close(&c);

    /* v2, IPv4 and IPv6 */
    assert_int_equal(pc_connect(&c, NULL, f->ws.port), 0);
    n = pc_proxy_v2(v2, "192.0.2.20", 40003, f->ws.port);
    get_after(&c, v2, n, "/page.html?v2-ipv4", NULL, 200);
    http_conn_close(&c);
    assert_int_equal(pc_connect(&c, NULL, f->ws.port), 0);
    n = pc_proxy_v2(v2, "2001:db8::30", 40004, f->ws.port);
    get_after(&c, v2, n, "/page.html?v2-ipv6", NULL, 200);
    http_conn_close(&c);

    assert_true(pc_log_wait(f->log, "192.0.2.10", "?v1-ipv4 ", WS_WAIT_MS));
    assert_true(pc_log_wait(f->log, "192.0.2.10", "?v1-again ", WS_WAIT_MS));
    assert_true(pc_log_wait(f->log, "2001:db8::31", "?v1-ipv6 ", WS_WAIT_MS));
    assert_true(pc_log_wait(f->log, "192.0.2.20", "?v2-ipv4 ", WS_WAIT_MS));
    assert_true(pc_log_wait(f->log, "2001:db8::30", "?v2-ipv6 ", WS_WAIT_MS));
    assert_false(pc_log_other_client(f->log, "192.0.2.20", "?v2-ipv4 "));
    f->ws.passed = true;
}

/* The header and the request arrive in pieces, each read by the server
 * before the next is sent: the header's cut inside the signature, inside
 * the addresses, and with the request's first bytes. */
static void
test_proxy_header_in_pieces(void **state)
{
    struct fx *f = *state;
    static const char req_fmt[] = "GET /page.html?%s HTTP/1.1\r\n"
                                  "Host: x\r\nConnection: close\r\n\r\n";
    struct http_conn c;
    struct http_resp r;
    uint8_t msg[PC_PROXY_MAX + 128];
    size_t n, cuts[4];

    start(f, "proxy_protocol = on\n");
    for (int v = 1; v <= 2; v++) {
        if (v == 1)
            n = pc_proxy_v1((char *) msg, PC_PROXY_MAX, "198.51.100.41", 1234,
                            f->ws.port);
        else
            n = pc_proxy_v2(msg, "198.51.100.42", 1234, f->ws.port);
        cuts[0] = 3;
        cuts[1] = v == 1 ? 17 : 14;
        cuts[2] = n - 1;
        cuts[3] = n + 5;
        n += (size_t) snprintf((char *) msg + n, sizeof(msg) - n, req_fmt,
                               v == 1 ? "split-v1" : "split-v2");
        assert_int_equal(pc_connect(&c, NULL, f->ws.port), 0);
        for (size_t i = 0, from = 0; i <= 4; i++) {
            size_t to = i < 4 ? cuts[i] : n;
            assert_int_equal(http_send(&c, msg + from, to - from), HTTP_OK);
            if (i < 4)
                assert_int_equal(pc_wait_read(&c, f->ws.port, WS_WAIT_MS), 0);
            from = to;
        }
        assert_int_equal(http_read_response(&c, false, &r), HTTP_OK);
        assert_int_equal(r.status, 200);
        http_resp_free(&r);
        http_conn_close(&c);
    }
    assert_true(pc_log_wait(f->log, "198.51.100.41", "?split-v1 ",
                            WS_WAIT_MS));
    assert_true(pc_log_wait(f->log, "198.51.100.42", "?split-v2 ",
                            WS_WAIT_MS));
    f->ws.passed = true;
}

/* No header, or a broken one: closed unanswered, the reason logged. */
static void
test_proxy_garbage_closes(void **state)
{
    struct fx *f = *state;
    static const char *const bad[] = {
        "GET /page.html HTTP/1.1\r\nHost: x\r\n\r\n",
        "PROXY TCP4 192.0.2.1 192.0.2.2 1 2\nGET / HTTP/1.1\r\n\r\n",
        "PROXY TCP9 192.0.2.1 192.0.2.2 1 2\r\nGET / HTTP/1.1\r\n\r\n",
        "\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n",
    };
    struct http_conn c;

    start(f, "proxy_protocol = on\n");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(pc_connect(&c, NULL, f->ws.port), 0);
        assert_int_equal(http_send(&c, bad[i], strlen(bad[i])), HTTP_OK);
        assert_closed_unanswered(&c);
        http_conn_close(&c);
    }
    assert_true(ws_wait_file_contains(f->ws.error_log,
        "without a valid PROXY protocol header: no PROXY signature",
        WS_WAIT_MS));
    assert_true(ws_file_contains(f->ws.error_log,
        "without a valid PROXY protocol header: v1 line with a control byte"));
    assert_true(ws_file_contains(f->ws.error_log,
        "v1 protocol is not TCP4, TCP6 or UNKNOWN"));
    /* a good header still works after all that */
    {
        char v1[PC_PROXY_MAX];
        size_t n = pc_proxy_v1(v1, sizeof(v1), "192.0.2.99", 9, f->ws.port);
        assert_int_equal(pc_connect(&c, NULL, f->ws.port), 0);
        get_after(&c, v1, n, "/page.html?after-garbage", NULL, 200);
        http_conn_close(&c);
    }
    assert_true(pc_log_wait(f->log, "192.0.2.99", "?after-garbage ",
                            WS_WAIT_MS));
    f->ws.passed = true;
}

/* A header that never completes is closed at header_timeout. */
static void
test_proxy_slow_header_times_out(void **state)
{
    struct fx *f = *state;
    struct http_conn c;
    int fd;

    start(f, "proxy_protocol = on\nheader_timeout = 1s\n");
    assert_int_equal(pc_connect(&c, NULL, f->ws.port), 0);
    assert_int_equal(http_send(&c, "PROXY TCP4 192.0", 16), HTTP_OK);
    fd = c.fd;
    /* the server closes it: readable (EOF), with nothing to read */
    assert_int_equal(ws_wait_readable(&fd, 1, WS_WAIT_MS, NULL), 1);
    assert_closed_unanswered(&c);
    http_conn_close(&c);
    assert_true(ws_wait_file_contains(f->ws.error_log,
        "without a valid PROXY protocol header: none within header_timeout",
        WS_WAIT_MS));
    f->ws.passed = true;
}

/* v2 LOCAL (the proxy's own health check) and v1 UNKNOWN: the socket's
 * peer is the client. */
static void
test_proxy_local_keeps_peer(void **state)
{
    struct fx *f = *state;
    struct http_conn c;
    uint8_t v2[PC_PROXY_MAX];
    size_t n;

    start(f, "proxy_protocol = on\n");
    assert_int_equal(pc_connect(&c, "127.0.0.3", f->ws.port), 0);
    n = pc_proxy_v2(v2, NULL, 0, 0);
    get_after(&c, v2, n, "/page.html?local", NULL, 200);
    http_conn_close(&c);
    assert_int_equal(pc_connect(&c, "127.0.0.4", f->ws.port), 0);
    get_after(&c, "PROXY UNKNOWN\r\n", 15, "/page.html?unknown", NULL, 200);
    http_conn_close(&c);
    assert_true(pc_log_wait(f->log, "127.0.0.3", "?local ", WS_WAIT_MS));
    assert_true(pc_log_wait(f->log, "127.0.0.4", "?unknown ", WS_WAIT_MS));
    f->ws.passed = true;
}

/* proxy_protocol is off: a PROXY line is just a bad request. */
static void
test_proxy_off_is_http(void **state)
{
    struct fx *f = *state;
    struct http_conn c;
    struct http_resp r;
    char v1[PC_PROXY_MAX];
    size_t n;

    start(f, "");
    assert_int_equal(pc_connect(&c, NULL, f->ws.port), 0);
    n = pc_proxy_v1(v1, sizeof(v1), "192.0.2.10", 1, f->ws.port);
    assert_int_equal(http_send(&c, v1, n), HTTP_OK);
    assert_int_equal(http_request(&c, "GET", "/page.html", NULL, &r), HTTP_OK);
    assert_int_equal(r.status, 400);
    http_resp_free(&r);
    http_conn_close(&c);
    f->ws.passed = true;
}

/* The TLS port does not expect a PROXY header. */
static void
test_proxy_tls_port_unaffected(void **state)
{
    struct fx *f = *state;
    char cmd[4 * WS_PATH_MAX], conf[4 * WS_PATH_MAX];
    char tls_port_file[WS_PATH_MAX + 16];
    char *out;
    long tls_port;
    int rc;

    snprintf(cmd, sizeof(cmd), "openssl req -x509 -newkey ec -pkeyopt "
             "ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost "
             "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 "
             "-keyout %s/k.pem -out %s/c.pem >%s/openssl.log 2>&1",
             f->ws.dir, f->ws.dir, f->ws.dir);
    if (system(cmd) != 0) {
        print_error("openssl req failed; see %s/openssl.log\n", f->ws.dir);
        fail();
    }
    snprintf(tls_port_file, sizeof(tls_port_file), "%s/tls_port", f->ws.dir);
    snprintf(conf, sizeof(conf), "proxy_protocol = on\ntls_port = 0\n"
             "tls_port_file = %s\ntls_certificate = %s/c.pem\n"
             "tls_certificate_key = %s/k.pem\n", tls_port_file, f->ws.dir,
             f->ws.dir);
    start(f, conf);
    assert_true(ws_wait_exists(tls_port_file, WS_WAIT_MS));
    tls_port = ws_read_number(tls_port_file);
    assert_true(tls_port > 0);
    snprintf(cmd, sizeof(cmd), "curl -sS -o /dev/null -w '%%{http_code}' "
             "--cacert %s/c.pem https://127.0.0.1:%ld/page.html?over-tls "
             ">%s/curl.out 2>&1", f->ws.dir, tls_port, f->ws.dir);
    rc = system(cmd);
    snprintf(cmd, sizeof(cmd), "%s/curl.out", f->ws.dir);
    out = ws_read_file(cmd, NULL);
    if (rc != 0 || out == NULL || strcmp(out, "200") != 0) {
        print_error("curl over TLS: exit %d, '%s'\n", rc,
                    out != NULL ? out : "");
        free(out);
        fail();
    }
    free(out);
    assert_true(pc_log_wait(f->log, "127.0.0.1", "?over-tls ", WS_WAIT_MS));
    f->ws.passed = true;
}

/* ---- trusted_proxies ---- */

static void
test_trusted_proxies_xff(void **state)
{
    struct fx *f = *state;
    struct http_conn c;

    start(f, "trusted_proxies = 127.0.0.2/32 10.0.0.0/8\n");

    /* a trusted peer: the rightmost untrusted address */
    assert_int_equal(pc_connect(&c, "127.0.0.2", f->ws.port), 0);
    get_after(&c, NULL, 0, "/page.html?trusted",
              "X-Forwarded-For: 198.51.100.7, 192.0.2.44\r\n", 200);
    /* several hops, trusted ones skipped, over two header lines; and the
     * next request on the connection has its own */
    get_after(&c, NULL, 0, "/page.html?hops",
              "X-Forwarded-For: 198.51.100.8, 192.0.2.45, 10.1.1.1\r\n"
              "X-Forwarded-For: 10.2.2.2\r\n", 200);
    get_after(&c, NULL, 0, "/page.html?none", NULL, 200);
    /* a malformed entry: the last good one before it */
    get_after(&c, NULL, 0, "/page.html?malformed",
              "X-Forwarded-For: 192.0.2.46, bogus, 10.3.3.3\r\n", 200);
    http_conn_close(&c);

    /* an untrusted peer says what it likes: not believed */
    assert_int_equal(pc_connect(&c, "127.0.0.5", f->ws.port), 0);
    get_after(&c, NULL, 0, "/page.html?untrusted",
              "X-Forwarded-For: 192.0.2.55\r\n", 200);
    http_conn_close(&c);

    assert_true(pc_log_wait(f->log, "192.0.2.44", "?trusted ", WS_WAIT_MS));
    assert_true(pc_log_wait(f->log, "192.0.2.45", "?hops ", WS_WAIT_MS));
    assert_true(pc_log_wait(f->log, "127.0.0.2", "?none ", WS_WAIT_MS));
    assert_true(pc_log_wait(f->log, "10.3.3.3", "?malformed ", WS_WAIT_MS));
    assert_true(pc_log_wait(f->log, "127.0.0.5", "?untrusted ", WS_WAIT_MS));
    assert_false(pc_log_other_client(f->log, "127.0.0.5", "?untrusted "));
    f->ws.passed = true;
}

/* With proxy_protocol, the peer to trust is the one the header names. */
static void
test_trusted_proxies_after_proxy_header(void **state)
{
    struct fx *f = *state;
    struct http_conn c;
    uint8_t v2[PC_PROXY_MAX];
    size_t n;

    start(f, "proxy_protocol = on\ntrusted_proxies = 10.0.0.0/8\n");
    /* the socket (127.0.0.1) is not trusted, the header's 10.0.0.9 is */
    assert_int_equal(pc_connect(&c, NULL, f->ws.port), 0);
    n = pc_proxy_v2(v2, "10.0.0.9", 5555, f->ws.port);
    get_after(&c, v2, n, "/page.html?pp-trusted",
              "X-Forwarded-For: 192.0.2.77\r\n", 200);
    http_conn_close(&c);
    /* the header names an untrusted client: its XFF is ignored */
    assert_int_equal(pc_connect(&c, NULL, f->ws.port), 0);
    n = pc_proxy_v2(v2, "192.0.2.78", 5556, f->ws.port);
    get_after(&c, v2, n, "/page.html?pp-untrusted",
              "X-Forwarded-For: 10.9.9.9\r\n", 200);
    http_conn_close(&c);
    assert_true(pc_log_wait(f->log, "192.0.2.77", "?pp-trusted ",
                            WS_WAIT_MS));
    assert_true(pc_log_wait(f->log, "192.0.2.78", "?pp-untrusted ",
                            WS_WAIT_MS));
    f->ws.passed = true;
}

/* redirect_to_https spares requests a trusted proxy took over https, and
 * /healthz; it still redirects others. */
static void
test_trusted_proxies_https_no_redirect(void **state)
{
    struct fx *f = *state;
    struct http_conn c;

    start(f, "redirect_to_https = on\ntrusted_proxies = 127.0.0.2/32\n");
    assert_int_equal(pc_connect(&c, "127.0.0.2", f->ws.port), 0);
    get_after(&c, NULL, 0, "/page.html", "X-Forwarded-Proto: https\r\n", 200);
    get_after(&c, NULL, 0, "/page.html", "X-Forwarded-Proto: http\r\n", 308);
    http_conn_close(&c);
    assert_int_equal(pc_connect(&c, "127.0.0.2", f->ws.port), 0);
    get_after(&c, NULL, 0, "/page.html", NULL, 308);
    http_conn_close(&c);
    /* not trusted: the header changes nothing */
    assert_int_equal(pc_connect(&c, "127.0.0.6", f->ws.port), 0);
    get_after(&c, NULL, 0, "/page.html", "X-Forwarded-Proto: https\r\n", 308);
    http_conn_close(&c);
    /* the balancer's check is answered, not redirected */
    assert_int_equal(pc_connect(&c, "127.0.0.6", f->ws.port), 0);
    get_after(&c, NULL, 0, "/healthz", NULL, 200);
    http_conn_close(&c);
    f->ws.passed = true;
}

/* ---- /healthz ---- */

static void
test_healthz_ok(void **state)
{
    struct fx *f = *state;
    struct http_conn c;
    struct http_resp r;

    start(f, "");
    assert_int_equal(http_conn_open(&c, f->ws.port), 0);
    assert_int_equal(http_request(&c, "GET", "/healthz", NULL, &r), HTTP_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "ok\n");
    assert_non_null(http_header(&r, "Content-Type"));
    assert_non_null(strstr(http_header(&r, "Content-Type"), "text/plain"));
    assert_non_null(http_header(&r, "Cache-Control"));
    assert_string_equal(http_header(&r, "Cache-Control"), "no-store");
    assert_true(r.keepalive);
    http_resp_free(&r);
    /* HEAD: the head alone */
    assert_int_equal(http_request(&c, "HEAD", "/healthz", NULL, &r), HTTP_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(http_header(&r, "Content-Length"), "3");
    assert_int_equal(r.body_len, 0);
    http_resp_free(&r);
    assert_int_equal(http_request(&c, "POST", "/healthz", NULL, &r), HTTP_OK);
    assert_int_equal(r.status, 405);
    http_resp_free(&r);
    http_conn_close(&c);
    f->ws.passed = true;
}

/* The worker drains on SIGHUP (a new generation takes over): an idle
 * keep-alive connection it still holds asks /healthz and gets 503 and
 * "Connection: close", while a new connection (the new generation) gets
 * 200. */
static void
test_healthz_503_draining_reload(void **state)
{
    struct fx *f = *state;
    struct http_conn c, fresh;
    struct http_resp r;

    start(f, "");
    assert_int_equal(http_conn_open(&c, f->ws.port), 0);
    assert_int_equal(http_request(&c, "GET", "/healthz", NULL, &r), HTTP_OK);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    assert_int_equal(ws_signal(&f->ws, SIGHUP), 0);
    assert_true(ws_wait_file_contains(f->ws.error_log,
                                      "draining (a new generation took over)",
                                      WS_WAIT_MS));
    assert_int_equal(http_request(&c, "GET", "/healthz", NULL, &r), HTTP_OK);
    assert_int_equal(r.status, 503);
    assert_false(r.keepalive);
    assert_string_equal(http_header(&r, "Cache-Control"), "no-store");
    http_resp_free(&r);
    http_conn_close(&c);
    assert_int_equal(http_conn_open(&fresh, f->ws.port), 0);
    assert_int_equal(http_request(&fresh, "GET", "/healthz", NULL, &r),
                     HTTP_OK);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    http_conn_close(&fresh);
    f->ws.passed = true;
}

/* SIGQUIT: the server stops accepting; a request already on its way
 * (its head half sent) is answered 503 by /healthz, with
 * "Connection: close". */
static void
test_healthz_503_draining_quit(void **state)
{
    struct fx *f = *state;
    static const char first[] = "GET /healthz HTTP/1.1\r\n";
    static const char rest[] = "Host: x\r\n\r\n";
    struct http_conn c;
    struct http_resp r;
    int status;

    start(f, "");
    assert_int_equal(http_conn_open(&c, f->ws.port), 0);
    assert_int_equal(http_send(&c, first, sizeof(first) - 1), HTTP_OK);
    assert_int_equal(pc_wait_read(&c, f->ws.port, WS_WAIT_MS), 0);
    assert_int_equal(ws_signal(&f->ws, SIGQUIT), 0);
    assert_true(ws_wait_file_contains(f->ws.error_log, "draining (",
                                      WS_WAIT_MS));
    assert_int_equal(http_send(&c, rest, sizeof(rest) - 1), HTTP_OK);
    assert_int_equal(http_read_response(&c, false, &r), HTTP_OK);
    assert_int_equal(r.status, 503);
    assert_false(r.keepalive);
    http_resp_free(&r);
    http_conn_close(&c);
    assert_int_equal(ws_wait_exit(&f->ws, WS_WAIT_MS, &status), 0);
    assert_int_equal(ws_exit_code(status), 0);
    f->ws.passed = true;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_proxy_v1_v2_addresses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_proxy_header_in_pieces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_proxy_garbage_closes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_proxy_slow_header_times_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_proxy_local_keeps_peer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_proxy_off_is_http, setup, teardown),
        cmocka_unit_test_setup_teardown(test_proxy_tls_port_unaffected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trusted_proxies_xff, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trusted_proxies_after_proxy_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trusted_proxies_https_no_redirect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_healthz_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_healthz_503_draining_reload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_healthz_503_draining_quit, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
