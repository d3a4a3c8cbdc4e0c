/* worker_ctx.h - the state one worker process shares between its modules:
 * configuration, event base, pool, scratch areas, counts. Worker only;
 * single-threaded; set up by worker_main() before the loop. Data only, so
 * every layer may include it: calls upward go through hooks (conn.h).
 * SPDX-License-Identifier: MIT */
#ifndef WORKER_WORKER_CTX_H
#define WORKER_WORKER_CTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "mpool.h"

struct event_base;
struct event;

/* scratch holds this many areas of scratch_len bytes each */
#define WORKER_SCRATCH_AREAS 4

struct worker_ctx {
    struct config      cfg;
    struct event_base *base;
    int                id;
    int                chan_fd;
    int                root_fd;         /* O_PATH directory of cfg.root */
    mpool             *pool;
    bool               draining;        /* finishing in-flight work, then exit */
    size_t             active;          /* open connections */
    int                finished;        /* closed since the last load report */
    struct event      *load_ev;         /* batches load reports */
    bool               load_armed;
    struct {                            /* TLS handshakes since start, */
        uint64_t       ok;              /* counted by transport_tls.c: */
        uint64_t       resumed;         /* full, resumed (a ticket), */
        uint64_t       failed;          /* failed (each logged at INFO) */
    } tls_handshakes;
    char              *scratch;         /* 4 areas of scratch_len bytes for */
    size_t             scratch_len;     /* one request at a time: decoded
                                         * path, path below root, Location,
                                         * file cache key */
};

extern struct worker_ctx wctx;      /* worker_ctx.c */

#endif
