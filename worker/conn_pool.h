/* conn_pool.h - per-worker pool of max_connections conns allocated once.
 * Slots are touched only when first used, so an unused pool costs address
 * space, not memory. Each reuse bumps the slot's generation so that a late
 * callback holding a conn_ref finds NULL instead of a stranger.
 * Worker only; single-threaded.
 * SPDX-License-Identifier: MIT */
#ifndef WORKER_CONN_POOL_H
#define WORKER_CONN_POOL_H

#include <stddef.h>

#include "conn.h"

/* Room for a peer address as text (INET6_ADDRSTRLEN and a NUL). */
#define CONN_POOL_PEER_MAX 48

/* Reserve N slots. Returns RC_OK or RC_ERR (logged). */
int conn_pool_init(size_t n);
void conn_pool_deinit(void);

/* A zeroed conn marked in use with a new generation, or NULL when all N are
 * in use. */
struct conn *conn_pool_get(void);

/* Give C back; its generation moves on. */
void conn_pool_put(struct conn *c);

struct conn_ref conn_pool_ref(const struct conn *c);

/* The conn R names, or NULL once its slot has been recycled or freed. */
struct conn *conn_pool_deref(struct conn_ref r);

/* Slots ever used: iterate conn_pool_at(0 .. conn_pool_high()-1), checking
 * in_use. */
size_t conn_pool_high(void);
struct conn *conn_pool_at(size_t i);

size_t conn_pool_in_use(void);

/* C's slot's CONN_POOL_PEER_MAX bytes for the peer address (conn_peer()):
 * kept beside the slots rather than in struct conn, which stays small,
 * and touched only once a connection's peer is asked for (c->peer_known
 * says whether it holds this connection's): an idle connection nobody
 * logged costs no page here. */
char *conn_pool_peer(const struct conn *c);

/* C's slot's CONN_POOL_PEER_MAX bytes for the client address of its
 * current request when trusted proxies name one (conn_client()); beside
 * the peer's, touched only by connections from a trusted proxy. */
char *conn_pool_client(const struct conn *c);

#endif
