/* redis_sentinel.h - find the Redis master through Sentinel, for the
 * worker's Redis client (redis_client.c is the only user).
 * A discovery asks the redis_sentinels in order, each within
 * redis_timeout (a host name is looked up off the loop first),
 * "SENTINEL get-master-addr-by-name <redis_master_name>", and reports the
 * first address a sentinel names, or that none did. The connection of the
 * sentinel that answered then stays open, subscribed to +switch-master, so
 * a failover is learnt of as soon as Sentinel announces it; when that
 * connection breaks, the module runs a discovery of its own to subscribe
 * again (with the reconnect backoff while no sentinel answers) and reports
 * its answer as switched().
 * Worker only; every callback runs from the loop, never from inside
 * redis_sentinel_discover().
 * SPDX-License-Identifier: MIT */
#ifndef WORKER_REDIS_SENTINEL_H
#define WORKER_REDIS_SENTINEL_H

#include <stddef.h>

#include "config.h"
#include "redis_lookup.h"

/* What the sentinel side tells the client. HOST is valid only during the
 * call (usually a numeric address; a name when Sentinel announces names). */
struct redis_sentinel_ops {
    /* The answer of a discovery: the master is HOST:PORT. */
    void (*found)(const char *host, int port);
    /* The answer of a discovery: no sentinel named a master; WHY says what
     * the last one did. */
    void (*failed)(const char *why);
    /* At any time: the master is HOST:PORT, as a +switch-master for our
     * name announced, or as a sentinel answered when the subscription was
     * renewed (HOW says which, for the log). */
    void (*switched)(const char *host, int port, const char *how);
};

struct event_base;

/* Set up (no connection yet). CFG is read now (redis_sentinels,
 * redis_master_name, redis_timeout, redis_reconnect_min/_max) and not
 * kept. Returns RC_OK or RC_ERR. */
int redis_sentinel_init(struct event_base *base, const struct config *cfg,
                        const struct redis_sentinel_ops *ops);

/* Close every sentinel connection and abandon a lookup; no callback runs
 * after this. Safe without init and twice. */
void redis_sentinel_deinit(void);

/* Start a discovery (a running one is cancelled), resolving sentinel
 * names with FN. Exactly one of found() and failed() follows, from the
 * loop, unless redis_sentinel_cancel() comes first. Returns RC_OK, or
 * RC_ERR (no callback) when nothing could be scheduled. */
int redis_sentinel_discover(redis_lookup_fn fn);

/* Stop a running discovery: neither found() nor failed() will be called
 * for it. The subscription stays, and so does a discovery the module runs
 * to renew it. */
void redis_sentinel_cancel(void);

/* Parse the payload of a +switch-master message, "<name> <old-ip>
 * <old-port> <new-ip> <new-port>" (MSG, LEN bytes, not NUL-terminated).
 * Returns RC_OK with the new address in HOST (HOSTLEN bytes) and *PORT
 * when the message is well formed and about NAME, RC_DONE when it is about
 * another master, RC_ERR when malformed. Pure. */
int redis_sentinel_parse_switch(const char *msg, size_t len, const char *name,
                                char *host, size_t hostlen, int *port);

#endif
