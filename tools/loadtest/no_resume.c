/* no_resume.c - LD_PRELOAD shim for wrk, used by tools/loadtest.sh in
 * scenario 9: wrk 4.1 keeps one SSL object per connection slot and, on
 * reconnect, calls SSL_shutdown() + SSL_clear(); SSL_clear() keeps the
 * session of a cleanly shut down connection, so the next SSL_connect()
 * offers it and the server resumes (TLS 1.3 ticket). This wrapper drops
 * the session before SSL_clear(), so every new connection makes a full
 * handshake. The script checks the effect against an nginx port that logs
 * $ssl_session_reused. SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <openssl/ssl.h>

int SSL_clear(SSL *s)
{
    static int (*real)(SSL *);
    if (!real)
        real = (int (*)(SSL *))dlsym(RTLD_NEXT, "SSL_clear");
    if (!real)
        return 0;
    SSL_set_session(s, NULL);
    return real(s);
}
