/* redis_client.h - the worker's asynchronous Redis client.
 * Hides hiredis: callers see only this header (unit tests link a fake).
 * Lazy connect on the first command; AUTH and SELECT on every (re)connect;
 * a per-command deadline (redis_timeout) on the worker's timer heap; when
 * the connection breaks or a deadline passes, every pending command is
 * answered with reply NULL and reconnects follow with exponential backoff
 * (redis_reconnect_min doubling to redis_reconnect_max; a success resets
 * it). While it waits to reconnect, new commands fail at once.
 * Worker only; single-threaded.
 * SPDX-License-Identifier: MIT */
#ifndef WORKER_REDIS_CLIENT_H
#define WORKER_REDIS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

enum redis_client_state {
    REDIS_CLIENT_IDLE = 0,      /* never connected; connects on demand */
    REDIS_CLIENT_CONNECTING,
    REDIS_CLIENT_READY,
    REDIS_CLIENT_BACKOFF        /* down; a reconnect is scheduled */
};

enum redis_client_type {
    REDIS_CLIENT_NIL = 0,
    REDIS_CLIENT_STRING,
    REDIS_CLIENT_INTEGER,
    REDIS_CLIENT_STATUS,
    REDIS_CLIENT_ERROR,
    REDIS_CLIENT_OTHER          /* arrays etc.: not used by the sessions */
};

/* A reply, valid only during the callback. */
struct redis_client_reply {
    int         type;           /* enum redis_client_type */
    long long   integer;
    const char *str;            /* STRING, STATUS, ERROR */
    size_t      len;
};

/* Counters, logged at NOTICE with every state change. */
struct redis_client_stats {
    uint64_t sent;              /* commands handed to Redis */
    uint64_t failed;            /* commands answered with NULL */
    uint64_t reconnects;        /* connection attempts after a failure */
    int      state;             /* enum redis_client_state */
};

/* REPLY is NULL when Redis was unavailable, the deadline passed, or the
 * connection broke. Called exactly once per accepted command, always from
 * the event loop, never from inside redis_client_command(). */
typedef void (*redis_client_cb)(const struct redis_client_reply *reply,
                                void *arg);

struct event_base;

/* Set up the client (no connection yet). CFG is copied. Returns RC_OK or
 * RC_ERR. */
int redis_client_init(struct event_base *base, const struct config *cfg);

/* Drop the connection; pending callbacks get NULL. */
void redis_client_deinit(void);

/* Queue a command of ARGC binary-safe arguments. Returns RC_OK (CB will be
 * called), or RC_ERR when Redis is known to be down right now (CB will not
 * be called; answer 503 at once). */
int redis_client_command(redis_client_cb cb, void *arg, int argc,
                         const char **argv, const size_t *argvlen);

/* True while Redis is known to be down (a reconnect is scheduled): callers
 * answer 503 before doing expensive work. */
bool redis_client_down(void);

/* Next reconnect delay after CUR ms (0: first failure): MIN, then doubling,
 * capped at MAX. Pure; exported for tests. */
int64_t redis_client_backoff_next(int64_t cur, int64_t min, int64_t max);

const char *redis_client_state_name(int state);

#endif
