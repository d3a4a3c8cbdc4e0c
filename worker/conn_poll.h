/* conn_poll.h - the worker's client sockets in an epoll set of their own,
 * which the event loop watches as one descriptor.
 *
 * A libevent event per connection costs 128 bytes in struct conn and
 * about 40 more in libevent's per-descriptor map, for every idle
 * keep-alive connection; here a connection costs the kernel's epoll entry
 * and nothing in the worker. Each socket is added once, edge-triggered
 * for both directions, with a 64-bit key the caller chooses (conn.c: slot
 * and generation, so a report about a connection closed meanwhile is
 * recognised and dropped). A socket is removed by closing it.
 *
 * The set is level-triggered in the loop: a turn reads at most
 * CONN_POLL_BATCH reports, and the loop comes back for the rest after the
 * other events of its turn. Worker only; single-threaded.
 * SPDX-License-Identifier: MIT */
#ifndef WORKER_CONN_POLL_H
#define WORKER_CONN_POLL_H

#include <stdint.h>

#define CONN_POLL_BATCH 256

/* What a report says (both may be set; errors and hang-ups set both). */
#define CONN_POLL_IN  1u
#define CONN_POLL_OUT 2u

struct event_base;

/* Called for each report: KEY as given to conn_poll_add(), WHAT as above. */
typedef void (*conn_poll_ready_cb)(uint64_t key, unsigned what);

/* Called once per loop turn after conn_poll_later() asked for it. */
typedef void (*conn_poll_later_cb)(void);

/* Create the set and watch it from BASE's loop. RC_OK or RC_ERR (logged). */
int conn_poll_init(struct event_base *base, conn_poll_ready_cb ready,
                   conn_poll_later_cb later);

/* Stop watching and close the set. Safe to call when not initialised. */
void conn_poll_deinit(void);

/* Add socket FD, edge-triggered for reading and writing, reported with
 * KEY. A state the socket is already in (data waiting, room to write) is
 * reported at once, so nothing is lost by adding it late. RC_OK or RC_ERR
 * (logged at ERR, e.g. out of kernel memory). */
int conn_poll_add(int fd, uint64_t key);

/* Have the later callback run in this or the next loop turn, after the
 * events already due (the caller keeps its own list of what to run). */
void conn_poll_later(void);

#endif
