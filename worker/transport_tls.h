/* transport_tls.h - the TLS transport (OpenSSL): the operations of
 * transport.h over an SSL object per connection, kept in a table indexed
 * by fd. The handshake runs inside the first reads, non-blocking, so
 * header_timeout covers it. Worker only; single-threaded.
 * SPDX-License-Identifier: MIT */
#ifndef WORKER_TRANSPORT_TLS_H
#define WORKER_TRANSPORT_TLS_H

#include "config.h"
#include "transport.h"

/* Bytes of a file read ahead per connection when there is no kTLS: the
 * memory a TLS file response costs, whatever the file's size. */
#define TRANSPORT_TLS_FILE_BUF  (16 * 1024)

extern const struct transport_ops transport_tls;

/* Build the worker's TLS context from CFG: certificate chain and key,
 * protocols, ciphers, ALPN http/1.1, the generation's ticket keys
 * (CFG->tls_ticket_keys, made by the master before fork, so a session
 * resumes on any worker). Returns RC_OK, or RC_ERR (logged at CRIT). */
int transport_tls_init(const struct config *cfg);

/* Free the context and the connection table (at exit). */
void transport_tls_deinit(void);

#endif
