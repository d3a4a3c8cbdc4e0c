/* dispatch.h - accept in the master and hand each fd to the least-loaded
 * worker. Master only.
 * SPDX-License-Identifier: MIT */
#ifndef MASTER_DISPATCH_H
#define MASTER_DISPATCH_H

#include <stddef.h>

#include "proc.h"

/* Pure choice over the load table: the index of the live (alive, pid != 0),
 * ready, non-draining slot with a channel not marked full, below its max_conns,
 * with the lowest active count. Ties go round-robin: the scan starts at
 * *cursor and the first lowest wins; *cursor then moves past the pick.
 * Returns -1 when no slot can take a connection. O(n), fine below a few
 * hundred workers. */
int dispatch_pick(const struct worker_slot *w, size_t n, size_t *cursor);

struct event_base;

/* The listen sockets: connections from DISPATCH_TLS go to workers as
 * CHAN_NEW_TLS_CONN, the others as CHAN_NEW_CONN. */
enum dispatch_kind { DISPATCH_PLAIN = 0, DISPATCH_TLS, DISPATCH_KINDS };

/* Accept on LFD (owned by the dispatcher from now on; the one of KIND
 * before it is closed) from BASE's loop and hand each connection to a
 * worker, saying which KIND it came from. Returns RC_OK or RC_ERR. */
int dispatch_listen(struct event_base *base, int kind, int lfd);

/* Stop accepting on KIND and close its socket (nothing if none). */
void dispatch_close(int kind);

/* The listen socket of KIND, or -1. */
int dispatch_fd(int kind);

/* dispatch_listen(BASE, DISPATCH_PLAIN, LFD). Accept on LFD (owned by the dispatcher from now on) from BASE's loop and
 * hand each connection to a worker. Returns RC_OK or RC_ERR (logged). */
int dispatch_start(struct event_base *base, int lfd);

/* Stop accepting and close every listen socket. Safe to call twice. */
void dispatch_stop(void);

/* Called when a worker's channel fails with an error other than "full"
 * (the slot is already marked not alive; its fds went to other workers). */
typedef void (*dispatch_broken_cb)(struct worker_slot *w);

/* Set the callback above (the master sets it once, before any accept). */
void dispatch_set_broken_cb(dispatch_broken_cb cb);

/* Something changed that may give held connections a worker (one became
 * ready, a channel closed): try them again, from the loop, soon. */
void dispatch_kick(void);

/* Connections accepted and waiting for a channel with room. */
int dispatch_held(void);

/* The plain listen socket, or -1 when stopped. */
int dispatch_listen_fd(void);

#endif
