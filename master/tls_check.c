/* tls_check.c - the master's check of the TLS settings (see tls_check.h):
 * the same OpenSSL calls a worker makes at start, on a scratch context.
 * Master only.
 * SPDX-License-Identifier: MIT */
#include "tls_check.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "defs.h"

/* "FILE:LINE: WHAT \"VALUE\": <OpenSSL's reason>" into ERR. */
static int
tls_check_fail(const struct config *cfg, const char *key, const char *what,
               char *err, size_t errlen)
{
    char where[CONFIG_PATH_MAX + 16], reason[256] = "unknown error";
    unsigned long e = ERR_peek_last_error();

    if (e != 0)
        ERR_error_string_n(e, reason, sizeof(reason));
    ERR_clear_error();
    snprintf(err, errlen, "%s: %s: %s",
             config_where(cfg, key, where, sizeof(where)), what, reason);
    return RC_ERR;
}

int
tls_check(const struct config *cfg, char *err, size_t errlen)
{
    char what[2 * CONFIG_PATH_MAX + 64];
    SSL_CTX *ctx;
    int rc = RC_ERR;

    ERR_clear_error();
    ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL)
        return tls_check_fail(cfg, "tls_port", "cannot create a TLS context",
                              err, errlen);
    snprintf(what, sizeof(what), "tls_certificate \"%s\" cannot be loaded",
             cfg->tls_certificate);
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_certificate) != 1) {
        tls_check_fail(cfg, "tls_certificate", what, err, errlen);
        goto out;
    }
    snprintf(what, sizeof(what), "tls_certificate_key \"%s\" cannot be loaded",
             cfg->tls_certificate_key);
    if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_certificate_key,
                                    SSL_FILETYPE_PEM) != 1) {
        tls_check_fail(cfg, "tls_certificate_key", what, err, errlen);
        goto out;
    }
    snprintf(what, sizeof(what), "tls_certificate_key \"%s\" does not match "
             "tls_certificate \"%s\"", cfg->tls_certificate_key,
             cfg->tls_certificate);
    if (SSL_CTX_check_private_key(ctx) != 1) {
        tls_check_fail(cfg, "tls_certificate_key", what, err, errlen);
        goto out;
    }
    if (cfg->tls_ciphers[0] != '\0'
        && SSL_CTX_set_cipher_list(ctx, cfg->tls_ciphers) != 1) {
        tls_check_fail(cfg, "tls_ciphers", "tls_ciphers names no usable "
                       "cipher", err, errlen);
        goto out;
    }
    rc = RC_OK;
out:
    SSL_CTX_free(ctx);
    return rc;
}

int
tls_check_new_ticket_keys(struct config *cfg, char *err, size_t errlen)
{
    size_t got = 0;

    while (got < sizeof(cfg->tls_ticket_keys)) {
        ssize_t n = getrandom(cfg->tls_ticket_keys + got,
                              sizeof(cfg->tls_ticket_keys) - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(err, errlen, "getrandom() failed for the TLS ticket "
                     "keys: %s", strerror(errno));
            return RC_ERR;
        }
        got += (size_t) n;
    }
    return RC_OK;
}
