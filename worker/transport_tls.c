/* transport_tls.c - the TLS transport (see transport_tls.h). Worker only;
 * single-threaded. Each connection's SSL object lives in tls_tab[fd] from
 * open() to close(). Buffers are released while idle
 * (SSL_MODE_RELEASE_BUFFERS), and a file goes out with SSL_sendfile when
 * the kernel does the encryption (kTLS), else through one bounded buffer
 * per connection that exists only while a file is being sent.
 * Client failures (garbage, plain HTTP, a handshake cut short) are logged
 * at INFO and end only that connection. Every handshake is counted once in
 * wctx.tls_handshakes (and the worker's metrics slot): ok or resumed when
 * it finishes, failed (and logged once, with the reason) when it errs, sees
 * EOF, times out or is closed.
 * SPDX-License-Identifier: MIT */
#include "transport_tls.h"

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "defs.h"
#include "log.h"
#include "metrics.h"
#include "worker_ctx.h"

enum tls_hs { TLS_HS_PENDING, TLS_HS_DONE, TLS_HS_FAILED };

struct tls_conn {
    SSL     *ssl;
    char    *fbuf;          /* file bytes read, not yet all written */
    uint32_t fb_off;
    uint32_t fb_len;
    bool     failed;        /* a fatal error: no close_notify */
    bool     eof;           /* close_notify seen after some bytes */
    uint8_t  hs;            /* enum tls_hs: counted once it leaves PENDING */
    bool     read_wants_write;  /* the last read waits for a write edge */
    bool     write_wants_read;  /* the last write waits for a read edge */
};

static SSL_CTX         *tls_ctx;
static struct tls_conn *tls_tab;
static size_t           tls_tab_n;
static int              tls_file_mode;  /* 0: not yet logged; 1 kTLS; 2 pread */

/* ---- Context ---- */

static int
tls_alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
            const unsigned char *in, unsigned int inlen, void *arg)
{
    static const unsigned char h11[] = "\x08http/1.1";
    unsigned char *sel;

    UNUSED(ssl);
    UNUSED(arg);
    if (SSL_select_next_proto(&sel, outlen, h11, sizeof(h11) - 1, in, inlen)
        != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;    /* no ALPN then, still HTTP/1.1 */
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

/* Log OpenSSL's reason for WHAT at LEVEL and clear its queue. */
static void
tls_log_error(int level, const char *what)
{
    char reason[256] = "unknown error";
    unsigned long e = ERR_peek_last_error();

    if (e != 0)
        ERR_error_string_n(e, reason, sizeof(reason));
    ERR_clear_error();
    log_msg(level, "%s: %s", what, reason);
}

/* Before an SSL call whose failure SSL_get_error() will read: the error
 * queue must be empty. It nearly always is (every failure empties it
 * after reading it), and ERR_clear_error() walks all its slots each time,
 * which showed in profiles of TLS keep-alive: peek first. */
static inline void
tls_err_reset(void)
{
    if (ERR_peek_error() != 0)
        ERR_clear_error();
}

/* Can this kernel encrypt TLS records itself? Without the "tls" upper
 * layer protocol (module tls not loaded, or not built), OpenSSL's try on
 * every connection is two failing setsockopt() calls and nothing more: an
 * unconnected socket answers ENOENT for an unknown protocol and ENOTCONN
 * for a known one. */
static bool
tls_kernel_tls_available(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool known;

    if (fd < 0)
        return false;
    known = setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", 3) == 0
            || errno != ENOENT;
    close(fd);
    return known;
}

int
transport_tls_init(const struct config *cfg)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    uint64_t opts = SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE
                    | SSL_OP_IGNORE_UNEXPECTED_EOF;

    if (ctx == NULL) {
        tls_log_error(LOG_CRIT, "SSL_CTX_new() failed");
        return RC_ERR;
    }
#ifdef SSL_OP_ENABLE_KTLS
    if (tls_kernel_tls_available())
        opts |= SSL_OP_ENABLE_KTLS;
#endif
    SSL_CTX_set_options(ctx, opts);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS
                          | SSL_MODE_ENABLE_PARTIAL_WRITE
                          | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    /* whole socket reads instead of a record's header, then its body:
     * tls_read() still reads until the socket is empty (or the buffer
     * full), so nothing read ahead waits for an edge */
    SSL_CTX_set_read_ahead(ctx, 1);
    SSL_CTX_set_min_proto_version(ctx, config_tls_protocol_on(cfg, "TLSv1.2")
                                       ? TLS1_2_VERSION : TLS1_3_VERSION);
    SSL_CTX_set_max_proto_version(ctx, config_tls_protocol_on(cfg, "TLSv1.3")
                                       ? TLS1_3_VERSION : TLS1_2_VERSION);
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_certificate) != 1
        || SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_certificate_key,
                                       SSL_FILETYPE_PEM) != 1
        || SSL_CTX_check_private_key(ctx) != 1) {
        tls_log_error(LOG_CRIT, "cannot load tls_certificate and "
                      "tls_certificate_key");
        SSL_CTX_free(ctx);
        return RC_ERR;
    }
    if (cfg->tls_ciphers[0] != '\0'
        && SSL_CTX_set_cipher_list(ctx, cfg->tls_ciphers) != 1) {
        tls_log_error(LOG_CRIT, "bad tls_ciphers");
        SSL_CTX_free(ctx);
        return RC_ERR;
    }
    SSL_CTX_set_alpn_select_cb(ctx, tls_alpn_cb, NULL);
    /* resumption by tickets only, with the keys every worker of this
     * generation shares: no per-process session cache to grow */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_session_id_context(ctx, (const unsigned char *) "webserver",
                                   9);
    SSL_CTX_set_num_tickets(ctx, 1);
    if (SSL_CTX_set_tlsext_ticket_keys(ctx, (void *) cfg->tls_ticket_keys,
                                       sizeof(cfg->tls_ticket_keys)) != 1) {
        tls_log_error(LOG_CRIT, "cannot set the TLS ticket keys");
        SSL_CTX_free(ctx);
        return RC_ERR;
    }
    tls_ctx = ctx;
    return RC_OK;
}

void
transport_tls_deinit(void)
{
    for (size_t i = 0; i < tls_tab_n; i++) {
        SSL_free(tls_tab[i].ssl);
        free(tls_tab[i].fbuf);
    }
    free(tls_tab);
    tls_tab = NULL;
    tls_tab_n = 0;
    SSL_CTX_free(tls_ctx);
    tls_ctx = NULL;
}

/* ---- Connections ---- */

static int
tls_open(int fd)
{
    struct tls_conn *t;

    if (tls_ctx == NULL) {
        log_msg(LOG_ERR, "fd %d: a TLS connection, but no TLS context", fd);
        return RC_ERR;
    }
    if ((size_t) fd >= tls_tab_n) {
        size_t n = tls_tab_n ? tls_tab_n : 256;
        while (n <= (size_t) fd)
            n *= 2;
        t = realloc(tls_tab, n * sizeof(*t));
        if (t == NULL) {
            log_msg(LOG_ERR, "fd %d: out of memory for the TLS table", fd);
            return RC_ERR;
        }
        memset(t + tls_tab_n, 0, (n - tls_tab_n) * sizeof(*t));
        tls_tab = t;
        tls_tab_n = n;
    }
    t = &tls_tab[fd];
    memset(t, 0, sizeof(*t));
    t->ssl = SSL_new(tls_ctx);
    if (t->ssl == NULL || SSL_set_fd(t->ssl, fd) != 1) {
        tls_log_error(LOG_ERR, "SSL_new() failed");
        SSL_free(t->ssl);
        t->ssl = NULL;
        return RC_ERR;
    }
    SSL_set_accept_state(t->ssl);
    return RC_OK;
}

/* ---- Handshakes ---- */

/* T's handshake failed for REASON: counted and logged (at INFO: a client
 * oddity, never a server error) the first time only. */
static void
tls_hs_fail(int fd, struct tls_conn *t, const char *reason)
{
    if (t->hs != TLS_HS_PENDING)
        return;
    t->hs = TLS_HS_FAILED;
    wctx.tls_handshakes.failed++;
    metrics_self->c.tls[METRICS_TLS_FAILED]++;
    log_msg(LOG_INFO, "fd %d: TLS handshake failed: %s", fd, reason);
}

/* After an SSL_read while the handshake was pending: count it if it is
 * done now. */
static void
tls_hs_check(struct tls_conn *t)
{
    if (!SSL_is_init_finished(t->ssl))
        return;
    t->hs = TLS_HS_DONE;
    if (SSL_session_reused(t->ssl)) {
        wctx.tls_handshakes.resumed++;
        metrics_self->c.tls[METRICS_TLS_RESUMED]++;
    } else {
        wctx.tls_handshakes.ok++;
        metrics_self->c.tls[METRICS_TLS_OK]++;
    }
}

/* SSL_read/SSL_write/SSL_sendfile returned RC with nothing done. */
static ssize_t
tls_failed(int fd, struct tls_conn *t, int rc, const char *what)
{
    int e = SSL_get_error(t->ssl, rc), err = errno;
    bool queued;

    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return RC_AGAIN;
    if (e == SSL_ERROR_ZERO_RETURN) {
        tls_hs_fail(fd, t, "the client closed the connection");
        return 0;
    }
    queued = ERR_peek_error() != 0;
    if (e == SSL_ERROR_SYSCALL && !queued) {
        if (err == EAGAIN || err == EWOULDBLOCK)
            return RC_AGAIN;
        t->failed = true;
        if (err == 0) {
            /* EOF without close_notify */
            tls_hs_fail(fd, t, "the client closed the connection");
            return 0;
        }
        if (t->hs == TLS_HS_PENDING)
            tls_hs_fail(fd, t, strerror(err));
        else
            log_errno(LOG_INFO, err, "fd %d: %s failed", fd, what);
        return RC_ERR;
    }
    t->failed = true;
    {
        char reason[256] = "unknown error";
        if (queued)
            ERR_error_string_n(ERR_peek_last_error(), reason, sizeof(reason));
        ERR_clear_error();
        if (t->hs == TLS_HS_PENDING)
            tls_hs_fail(fd, t, reason);
        else
            log_msg(LOG_INFO, "fd %d: %s failed: %s", fd, what, reason);
    }
    return RC_ERR;
}

static ssize_t
tls_read(int fd, void *buf, size_t len)
{
    struct tls_conn *t = &tls_tab[fd];
    size_t got = 0;

    t->read_wants_write = false;
    if (t->eof)
        return 0;
    /* fill the buffer or empty the socket: a short read tells the caller
     * that the edge is used up, so no record may stay behind in OpenSSL */
    while (got < len) {
        size_t want = len - got < INT_MAX ? len - got : INT_MAX;
        ssize_t rc;
        int n;

        int e;

        tls_err_reset();
        errno = 0;
        n = SSL_read(t->ssl, (char *) buf + got, (int) want);
        if (t->hs == TLS_HS_PENDING)
            tls_hs_check(t);
        if (n > 0) {
            got += (size_t) n;
            continue;
        }
        e = SSL_get_error(t->ssl, n);
        if (e == SSL_ERROR_SYSCALL && errno == EINTR)
            continue;
        /* a key update to answer, with the socket full: the next write
         * edge, not a read edge, lets this read go on */
        t->read_wants_write = e == SSL_ERROR_WANT_WRITE;
        rc = tls_failed(fd, t, n, "SSL_read()");
        if (got == 0)
            return rc;
        if (rc == 0)
            t->eof = true;
        return (ssize_t) got;   /* the error, if any, comes again next time */
    }
    return (ssize_t) got;
}

static ssize_t
tls_write(int fd, const void *buf, size_t len, bool more)
{
    struct tls_conn *t = &tls_tab[fd];
    int n;

    UNUSED(more);
    t->write_wants_read = false;
    for (;;) {
        int e;

        tls_err_reset();
        errno = 0;
        n = SSL_write(t->ssl, buf, len < INT_MAX ? (int) len : INT_MAX);
        if (n > 0)
            return n;
        e = SSL_get_error(t->ssl, n);
        if (e == SSL_ERROR_SYSCALL && errno == EINTR)
            continue;
        t->write_wants_read = e == SSL_ERROR_WANT_READ;
        n = (int) tls_failed(fd, t, n, "SSL_write()");
        return n == 0 ? RC_ERR : n;
    }
}

/* Which way files go, said once per worker. */
static void
tls_file_mode_log(bool ktls)
{
    int mode = ktls ? 1 : 2;

    if (tls_file_mode == mode)
        return;
    tls_file_mode = mode;
    log_msg(LOG_NOTICE, "files over TLS go out %s", ktls
            ? "with kTLS and SSL_sendfile()"
            : "through a bounded buffer and SSL_write() (no kTLS here)");
}

static ssize_t
tls_sendfile(int fd, int file_fd, off_t *pos, size_t len)
{
    struct tls_conn *t = &tls_tab[fd];
    ssize_t n;
    int w;

#ifndef OPENSSL_NO_KTLS
    if (t->fbuf == NULL && BIO_get_ktls_send(SSL_get_wbio(t->ssl))) {
        tls_file_mode_log(true);
        t->write_wants_read = false;
        tls_err_reset();
        n = SSL_sendfile(t->ssl, file_fd, *pos, len, 0);
        if (n > 0) {
            *pos += n;
            return n;
        }
        t->write_wants_read = SSL_get_error(t->ssl, (int) n)
                              == SSL_ERROR_WANT_READ;
        n = tls_failed(fd, t, (int) n, "SSL_sendfile()");
        return n == 0 ? RC_ERR : n;
    }
#endif
    tls_file_mode_log(false);
    if (t->fb_off == t->fb_len) {
        /* the buffer is empty: the next piece of the file, from *POS */
        size_t want = len < TRANSPORT_TLS_FILE_BUF ? len : TRANSPORT_TLS_FILE_BUF;
        if (t->fbuf == NULL) {
            t->fbuf = malloc(TRANSPORT_TLS_FILE_BUF);
            if (t->fbuf == NULL) {
                log_msg(LOG_ERR, "fd %d: out of memory for a file buffer", fd);
                return RC_ERR;
            }
        }
        do {
            n = pread(file_fd, t->fbuf, want, *pos);
        } while (n < 0 && errno == EINTR);
        if (n < 0) {
            log_errno(LOG_ERR, errno, "pread() failed on fd %d", file_fd);
            return RC_ERR;
        }
        if (n == 0)
            return 0;
        t->fb_off = 0;
        t->fb_len = (uint32_t) n;
    }
    /* bytes in the buffer are the file's from *POS on; a retry after
     * RC_AGAIN hands OpenSSL the same bytes, as it requires */
    n = tls_write(fd, t->fbuf + t->fb_off, t->fb_len - t->fb_off, false);
    if (n <= 0)
        return n;
    w = (int) n;
    t->fb_off += (uint32_t) w;
    *pos += w;
    if (t->fb_off == t->fb_len && (size_t) w >= len) {
        /* the range is out: an idle connection holds no file buffer */
        free(t->fbuf);
        t->fbuf = NULL;
        t->fb_off = t->fb_len = 0;
    }
    return n;
}

static int
tls_peek(int fd)
{
    /* a record OpenSSL already holds counts; else the socket, as plain */
    if (SSL_pending(tls_tab[fd].ssl) > 0)
        return RC_OK;
    return transport_plain.peek(fd);
}

static unsigned
tls_crossed(int fd)
{
    const struct tls_conn *t = &tls_tab[fd];

    return (t->read_wants_write ? TRANSPORT_READ_WANTS_WRITE : 0u)
           | (t->write_wants_read ? TRANSPORT_WRITE_WANTS_READ : 0u);
}

static bool
tls_timed_out(int fd)
{
    struct tls_conn *t = &tls_tab[fd];

    if (t->hs != TLS_HS_PENDING)
        return false;
    tls_hs_fail(fd, t, "timed out (header_timeout)");
    return true;
}

/* close_notify, once, when the session is up and sound. */
static void
tls_notify(struct tls_conn *t)
{
    if (t->ssl == NULL || t->failed || !SSL_is_init_finished(t->ssl)
        || (SSL_get_shutdown(t->ssl) & SSL_SENT_SHUTDOWN))
        return;
    tls_err_reset();
    SSL_shutdown(t->ssl);
    tls_err_reset();
}

static void
tls_shutdown(int fd)
{
    tls_notify(&tls_tab[fd]);
    shutdown(fd, SHUT_WR);
}

static void
tls_nodelay(int fd)
{
    int on = 1;

    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

static void
tls_close(int fd)
{
    if ((size_t) fd < tls_tab_n) {
        struct tls_conn *t = &tls_tab[fd];
        if (t->ssl != NULL)
            tls_hs_fail(fd, t, "closed before it finished");
        tls_notify(t);
        SSL_free(t->ssl);
        free(t->fbuf);
        memset(t, 0, sizeof(*t));
    }
    close(fd);
}

static void
tls_refuse(int fd, const char *resp, size_t len)
{
    /* no handshake, so no way to say 503: the client sees a close */
    UNUSED(resp);
    UNUSED(len);
    close(fd);
}

const struct transport_ops transport_tls = {
    .name     = "tls",
    .secure   = true,
    .open     = tls_open,
    .read     = tls_read,
    .write    = tls_write,
    .sendfile = tls_sendfile,
    .peek     = tls_peek,
    .crossed  = tls_crossed,
    .timed_out = tls_timed_out,
    .shutdown = tls_shutdown,
    .nodelay  = tls_nodelay,
    .close    = tls_close,
    .refuse   = tls_refuse,
};
