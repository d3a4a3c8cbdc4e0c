/* test_transport_tls.c - the TLS transport (transport_tls.c) over an
 * in-process socketpair, an OpenSSL client on the other end: a read that
 * must write first (the session ticket after the handshake, while the
 * server's socket is full) reports TRANSPORT_READ_WANTS_WRITE and goes on
 * once the socket drains (the state machine retries it on the write edge);
 * a client's key update while the socket is full;
 * handshakes are counted ok / failed in wctx.tls_handshakes.
 * The certificate is made here with the OpenSSL API. No sleeps: every
 * step is a non-blocking call whose outcome the socket state fixes.
 * SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "defs.h"
#include "transport.h"
#include "transport_tls.h"
#include "worker_ctx.h"

#define FILL_BYTES  (64 * 1024)     /* written before the socket shrinks */
#define MAX_STEPS   100             /* handshake round trips: a hang bound */

struct fx {
    char    dir[64];
    char    cert[128], key[128];
    int     sfd, cfd;               /* server (transport) and client ends */
    SSL_CTX *cctx;
    SSL     *cssl;
};

/* A self-signed P-256 certificate for localhost in F's directory. */
static void
make_cert(struct fx *f)
{
    EVP_PKEY *pkey = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_NAME *name;
    FILE *fp;

    assert_non_null(pkey);
    assert_non_null(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 2 * 24 * 3600);
    X509_set_pubkey(x, pkey);
    name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               (const unsigned char *) "localhost", -1, -1, 0);
    X509_set_issuer_name(x, name);
    assert_true(X509_sign(x, pkey, EVP_sha256()) > 0);

    fp = fopen(f->cert, "w");
    assert_non_null(fp);
    assert_int_equal(PEM_write_X509(fp, x), 1);
    fclose(fp);
    fp = fopen(f->key, "w");
    assert_non_null(fp);
    assert_int_equal(PEM_write_PrivateKey(fp, pkey, NULL, NULL, 0, NULL,
                                          NULL), 1);
    fclose(fp);
    X509_free(x);
    EVP_PKEY_free(pkey);
}

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    int sv[2];

    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/test_transport_tls.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->cert, sizeof(f->cert), "%s/cert.pem", f->dir);
    snprintf(f->key, sizeof(f->key), "%s/cert.key", f->dir);
    make_cert(f);

    memset(&wctx, 0, sizeof(wctx));
    config_defaults(&wctx.cfg);
    wctx.cfg.tls_port = 0;
    snprintf(wctx.cfg.tls_certificate, sizeof(wctx.cfg.tls_certificate),
             "%s", f->cert);
    snprintf(wctx.cfg.tls_certificate_key,
             sizeof(wctx.cfg.tls_certificate_key), "%s", f->key);
    assert_int_equal(RAND_bytes(wctx.cfg.tls_ticket_keys,
                                sizeof(wctx.cfg.tls_ticket_keys)), 1);
    assert_int_equal(transport_tls_init(&wctx.cfg), RC_OK);

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    f->sfd = sv[0];
    f->cfd = sv[1];
    assert_int_equal(fcntl(f->sfd, F_SETFL, O_NONBLOCK), 0);
    assert_int_equal(fcntl(f->cfd, F_SETFL, O_NONBLOCK), 0);
    assert_int_equal(transport_tls.open(f->sfd), RC_OK);

    f->cctx = SSL_CTX_new(TLS_client_method());
    assert_non_null(f->cctx);
    SSL_CTX_set_min_proto_version(f->cctx, TLS1_3_VERSION);
    f->cssl = SSL_new(f->cctx);
    assert_non_null(f->cssl);
    assert_int_equal(SSL_set_fd(f->cssl, f->cfd), 1);
    SSL_set_connect_state(f->cssl);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;

    SSL_free(f->cssl);
    SSL_CTX_free(f->cctx);
    transport_tls.close(f->sfd);
    close(f->cfd);
    transport_tls_deinit();
    unlink(f->cert);
    unlink(f->key);
    rmdir(f->dir);
    free(f);
    return 0;
}

/* Run both sides of the handshake until the server counted it. */
static void
handshake(struct fx *f)
{
    char buf[64];

    for (int i = 0; i < MAX_STEPS; i++) {
        int rc = SSL_do_handshake(f->cssl);
        ssize_t n;

        if (rc != 1) {
            int e = SSL_get_error(f->cssl, rc);
            assert_true(e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE);
        }
        n = transport_tls.read(f->sfd, buf, sizeof(buf));
        assert_int_equal(n, RC_AGAIN);      /* no application data yet */
        if (rc == 1 && wctx.tls_handshakes.ok == 1)
            return;
    }
    fail_msg("no handshake after %d steps", MAX_STEPS);
}

/* Read everything the server sent, until the client would block. */
static size_t
client_drain(struct fx *f)
{
    char buf[16384];
    size_t got = 0;

    for (;;) {
        int n = SSL_read(f->cssl, buf, sizeof(buf));
        if (n > 0) {
            got += (size_t) n;
            continue;
        }
        assert_int_equal(SSL_get_error(f->cssl, n), SSL_ERROR_WANT_READ);
        return got;
    }
}

/* Fill the server's socket with raw bytes (the client takes them off with
 * client_skip() before its TLS reads): returns how many. */
static size_t
server_fill_raw(struct fx *f)
{
    static char junk[4096];
    size_t sent = 0;
    int one = 1;

    assert_int_equal(setsockopt(f->sfd, SOL_SOCKET, SO_SNDBUF, &one,
                                sizeof(one)), 0);
    for (;;) {
        ssize_t n = send(f->sfd, junk, sizeof(junk), MSG_DONTWAIT);
        if (n < 0) {
            assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
            return sent;
        }
        sent += (size_t) n;
    }
}

static size_t
client_skip(struct fx *f)
{
    char buf[4096];
    size_t got = 0;
    ssize_t n;

    while ((n = recv(f->cfd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
        got += (size_t) n;
    assert_true(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
    return got;
}

/* The read that finishes the handshake must also write (TLS 1.3: the
 * session ticket, sent right after the client's Finished), and the
 * socket is full: the read waits for a write edge. The client has sent
 * its request already, so no read edge would ever come: before the fix
 * the connection sat there until header_timeout. */
static void
test_transport_tls_read_wants_write_on_full_socket(void **state)
{
    struct fx *f = *state;
    char buf[64];
    size_t filled;
    ssize_t n;
    int rc;

    /* ClientHello; the server's flight; the client's Finished, request */
    assert_int_equal(SSL_do_handshake(f->cssl), -1);
    assert_int_equal(transport_tls.read(f->sfd, buf, sizeof(buf)), RC_AGAIN);
    rc = SSL_do_handshake(f->cssl);
    assert_int_equal(rc, 1);
    assert_int_equal(SSL_write(f->cssl, "ping", 4), 4);

    filled = server_fill_raw(f);
    assert_true(filled > 0);
    n = transport_tls.read(f->sfd, buf, sizeof(buf));
    assert_int_equal(n, RC_AGAIN);
    assert_int_equal(transport_tls.crossed(f->sfd),
                     TRANSPORT_READ_WANTS_WRITE);

    /* the client reads: the socket drains (a write edge); the retried
     * read sends the ticket and returns the request */
    assert_int_equal(client_skip(f), filled);
    n = transport_tls.read(f->sfd, buf, sizeof(buf));
    assert_int_equal(n, 4);
    assert_memory_equal(buf, "ping", 4);
    assert_int_equal(transport_tls.crossed(f->sfd), 0);
    assert_int_equal(wctx.tls_handshakes.ok, 1);

    assert_int_equal(transport_tls.write(f->sfd, "pong", 4, false), 4);
    {
        char in[8];
        int k = SSL_read(f->cssl, in, sizeof(in));
        assert_int_equal(k, 4);
        assert_memory_equal(in, "pong", 4);
    }
    assert_int_equal(wctx.tls_handshakes.failed, 0);
}

/* A key update the client asks for is answered (OpenSSL 3.0 sends the
 * server's KeyUpdate with its next write, not inside the read), and the
 * connection goes on with the new keys after the socket was full. */
static void
test_transport_tls_key_update_after_full_socket(void **state)
{
    struct fx *f = *state;
    static char fill[FILL_BYTES];
    char buf[64];
    size_t sent = 0;
    int one = 1;
    ssize_t n;

    handshake(f);
    assert_int_equal(transport_tls.crossed(f->sfd), 0);

    /* the server's socket holds FILL_BYTES nobody reads; then it shrinks
     * below that, so any further send would block */
    memset(fill, 'x', sizeof(fill));
    while (sent < sizeof(fill)) {
        n = transport_tls.write(f->sfd, fill + sent, sizeof(fill) - sent,
                                false);
        assert_true(n > 0);
        sent += (size_t) n;
    }
    assert_int_equal(setsockopt(f->sfd, SOL_SOCKET, SO_SNDBUF, &one,
                                sizeof(one)), 0);

    assert_int_equal(SSL_key_update(f->cssl, SSL_KEY_UPDATE_REQUESTED), 1);
    assert_int_equal(SSL_write(f->cssl, "ping", 4), 4);
    n = transport_tls.read(f->sfd, buf, sizeof(buf));
    if (n == RC_AGAIN) {
        /* a library that answers inside the read: a write edge retries */
        assert_int_equal(transport_tls.crossed(f->sfd),
                         TRANSPORT_READ_WANTS_WRITE);
        assert_int_equal(client_drain(f), sizeof(fill));
        n = transport_tls.read(f->sfd, buf, sizeof(buf));
    } else {
        assert_int_equal(client_drain(f), sizeof(fill));
    }
    assert_int_equal(n, 4);
    assert_memory_equal(buf, "ping", 4);
    assert_int_equal(transport_tls.crossed(f->sfd), 0);

    assert_int_equal(transport_tls.write(f->sfd, "pong", 4, false), 4);
    {
        char in[8];
        int k = SSL_read(f->cssl, in, sizeof(in));
        assert_int_equal(k, 4);
        assert_memory_equal(in, "pong", 4);
    }
    assert_int_equal(wctx.tls_handshakes.ok, 1);
    assert_int_equal(wctx.tls_handshakes.failed, 0);
}

static void
test_transport_tls_garbage_counts_one_failure(void **state)
{
    struct fx *f = *state;
    static const char junk[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    char buf[64];

    assert_int_equal(write(f->cfd, junk, sizeof(junk) - 1),
                     (ssize_t) sizeof(junk) - 1);
    assert_int_equal(transport_tls.read(f->sfd, buf, sizeof(buf)), RC_ERR);
    assert_false(transport_tls.timed_out(f->sfd));  /* already counted */
    assert_int_equal(wctx.tls_handshakes.failed, 1);
    assert_int_equal(wctx.tls_handshakes.ok, 0);
}

static void
test_transport_tls_eof_and_timeout_count_failures(void **state)
{
    struct fx *f = *state;
    char buf[64];

    /* nothing yet: a timeout now is the transport's to report */
    assert_int_equal(transport_tls.read(f->sfd, buf, sizeof(buf)), RC_AGAIN);
    assert_true(transport_tls.timed_out(f->sfd));
    assert_int_equal(wctx.tls_handshakes.failed, 1);
    assert_false(transport_tls.timed_out(f->sfd));  /* once */

    /* a client that hangs up mid-handshake: EOF, counted once */
    transport_tls.close(f->sfd);
    {
        int sv[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        close(f->cfd);
        f->sfd = sv[0];
        f->cfd = sv[1];
        assert_int_equal(fcntl(f->sfd, F_SETFL, O_NONBLOCK), 0);
        assert_int_equal(transport_tls.open(f->sfd), RC_OK);
    }
    assert_int_equal(SSL_set_fd(f->cssl, f->cfd), 1);
    assert_int_equal(fcntl(f->cfd, F_SETFL, O_NONBLOCK), 0);
    assert_true(SSL_do_handshake(f->cssl) != 1);    /* ClientHello out */
    shutdown(f->cfd, SHUT_WR);
    assert_int_equal(transport_tls.read(f->sfd, buf, sizeof(buf)), 0);
    assert_int_equal(wctx.tls_handshakes.failed, 2);
    assert_int_equal(wctx.tls_handshakes.ok, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_transport_tls_read_wants_write_on_full_socket, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_transport_tls_key_update_after_full_socket, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_transport_tls_garbage_counts_one_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_transport_tls_eof_and_timeout_count_failures, setup,
            teardown),
    };

    return cmocka_run_group_tests_name("transport_tls", tests, NULL, NULL);
}
