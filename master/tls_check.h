/* tls_check.h - what a worker's TLS set-up needs, tried in the master, so
 * that -t and a reload name the file and line of a missing or mismatched
 * certificate or key instead of a generation of workers that cannot
 * start. Master only.
 * SPDX-License-Identifier: MIT */
#ifndef MASTER_TLS_CHECK_H
#define MASTER_TLS_CHECK_H

#include <stddef.h>

#include "config.h"

/* Load CFG's tls_certificate and tls_certificate_key into a scratch
 * SSL_CTX (freed before return), check that they match and that
 * tls_ciphers names something. Returns RC_OK, or RC_ERR with
 * "FILE:LINE: message" in ERR. Call only when tls_port is on. */
int tls_check(const struct config *cfg, char *err, size_t errlen);

/* Fill CFG->tls_ticket_keys with fresh random bytes. Returns RC_OK, or
 * RC_ERR with a message in ERR. */
int tls_check_new_ticket_keys(struct config *cfg, char *err, size_t errlen);

#endif
