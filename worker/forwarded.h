/* forwarded.h - the client behind trusted proxies: which address of
 * X-Forwarded-For to believe (trusted_proxies). Pure: no I/O, no
 * allocation; works on a request head that http_parse_request() accepted.
 * Worker only (conn.c), but plain C: the unit test compiles it alone.
 * SPDX-License-Identifier: MIT */
#ifndef WORKER_FORWARDED_H
#define WORKER_FORWARDED_H

#include <stdbool.h>
#include <stddef.h>

#include "http_parse.h"
#include "net.h"

/* Room for an address as text (INET6_ADDRSTRLEN). */
#define FORWARDED_ADDR_MAX 46

/* The client of request R (HEAD: its bytes, r->head_len of them) that a
 * trusted peer forwarded: of all X-Forwarded-For lines taken together, in
 * order, the last (rightmost) address that is not itself in TRUSTED[0, N);
 * when every address is trusted, the first. Empty list elements are
 * skipped; any other element that is not a bare IPv4 or IPv6 address is
 * malformed and stops the walk (from the right), leaving the last good
 * address before it, or none. The caller has checked that the peer is
 * trusted. Returns true with the address, canonical ("2001:db8::1"), in
 * OUT (CAP >= FORWARDED_ADDR_MAX), or false when the header gives none:
 * the peer is then the client. */
bool forwarded_client(const char *head, const struct http_request *r,
                      const struct net_cidr *trusted, int n, char *out,
                      size_t cap);

#endif
