/* redis_client.h - the worker's asynchronous Redis client.
 * Hides hiredis: callers see only this header.
 * Lazy connect on the first command; AUTH and SELECT on every (re)connect;
 * a per-command deadline (redis_timeout) on the worker's timer heap; when
 * the connection breaks or a deadline passes, every pending command is
 * answered with reply NULL. A host name in redis_host is resolved off the
 * event loop before every connect (literals and unix:/path are not), so
 * slow DNS never stalls the worker. When a working connection is closed by
 * the other side (Redis restarted, CLIENT KILL) the client reconnects at
 * once; after a failed attempt (refused, no answer within redis_timeout,
 * name not resolved) it backs off: redis_reconnect_min doubling to
 * redis_reconnect_max, reset by a success. While it waits to reconnect,
 * new commands fail at once.
 * With redis_sentinels, each attempt first asks Sentinel for the master of
 * redis_master_name and checks ROLE; READONLY replies and +switch-master
 * make it ask again (see redis_client.c, redis_sentinel.h). With
 * redis_wait_replicas, redis_client_command_durable() adds WAIT.
 * Worker only; the API and every callback run on the loop thread.
 * SPDX-License-Identifier: MIT */
#ifndef WORKER_REDIS_CLIENT_H
#define WORKER_REDIS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* Room for a numeric address from the resolver ("ffff:...%scope"). */
#define REDIS_CLIENT_ADDR_MAX 64

enum redis_client_state {
    REDIS_CLIENT_IDLE = 0,      /* never connected; connects on demand */
    REDIS_CLIENT_RESOLVING,     /* a helper thread looks up redis_host */
    REDIS_CLIENT_CONNECTING,
    REDIS_CLIENT_READY,
    REDIS_CLIENT_BACKOFF,       /* down; a reconnect is scheduled */
    REDIS_CLIENT_DISCOVERING    /* asking the sentinels for the master */
};

/* What redis_host names; see redis_client_host_kind(). */
enum redis_client_host {
    REDIS_CLIENT_HOST_NAME = 0, /* resolved before every connect */
    REDIS_CLIENT_HOST_NUMERIC,  /* IPv4 or IPv6 literal: connect at once */
    REDIS_CLIENT_HOST_UNIX      /* "unix:/path" */
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
    uint64_t wait_short;        /* durable writes short of replicas */
    int      state;             /* enum redis_client_state */
};

/* REPLY is NULL when Redis was unavailable, the deadline passed, or the
 * connection broke. Called exactly once per accepted command, always from
 * the event loop, never from inside redis_client_command(). */
typedef void (*redis_client_cb)(const struct redis_client_reply *reply,
                                void *arg);

/* Look up HOST; on RC_OK ADDR (ADDRLEN bytes) holds a numeric address
 * ("10.0.0.7", "::1"), on RC_ERR ERR holds the reason. Blocks; runs on a
 * helper thread, so it must not touch anything of the loop's. */
typedef int (*redis_client_resolve_fn)(const char *host, char *addr,
                                       size_t addrlen, char *err,
                                       size_t errlen);

struct event_base;

/* Set up the client (no connection yet). CFG is copied. Returns RC_OK or
 * RC_ERR. */
int redis_client_init(struct event_base *base, const struct config *cfg);

/* Drop the connection; pending callbacks get NULL (before this returns).
 * A name lookup still running is abandoned, not waited for: its thread
 * frees what it holds when getaddrinfo() returns. */
void redis_client_deinit(void);

/* Queue a command of ARGC binary-safe arguments (copied). Returns RC_OK
 * (CB will be called), or RC_ERR when Redis is known to be down right now
 * (CB will not be called; answer 503 at once). While the host name is
 * being resolved, commands wait (within redis_timeout) for the connection. */
int redis_client_command(redis_client_cb cb, void *arg, int argc,
                         const char **argv, const size_t *argvlen);

/* redis_client_command() for a write that should reach replicas before it
 * is acknowledged: with redis_wait_replicas = N > 0 the command is followed
 * by WAIT N <redis_timeout ms>, and CB gets the command's reply (not
 * WAIT's) once WAIT answered. Fewer than N acknowledgements do not fail
 * the write: they are logged (WARN, at most every 10 s) and counted
 * (redis_client_wait_short()). With N = 0 this is redis_client_command().
 * Returns as redis_client_command(). */
int redis_client_command_durable(redis_client_cb cb, void *arg, int argc,
                                 const char **argv, const size_t *argvlen);

/* Durable writes that fewer replicas than redis_wait_replicas acknowledged
 * (or whose WAIT got no answer) since redis_client_init(). */
uint64_t redis_client_wait_short(void);

/* True while Redis is known to be down (a reconnect is scheduled; with
 * Sentinel also: no master known): callers
 * answer 503 before doing expensive work. */
bool redis_client_down(void);

/* Next reconnect delay after CUR ms (0: first failure): MIN, then doubling,
 * capped at MAX. Pure; exported for tests. */
int64_t redis_client_backoff_next(int64_t cur, int64_t min, int64_t max);

/* Delay in ms before the next connect attempt (0: at once). WAS_UP: a
 * working connection (PING answered) was closed by the other side; false
 * after a failed attempt or a connection we gave up on (deadline). CUR: the
 * delay after the previous failure (0: none since the last success).
 * SINCE_NOW: ms since the last immediate reconnect, negative for never.
 * A lost working connection is retried at once, but at most once per MIN
 * (a server that accepts us and then hangs up must not become a busy
 * loop); anything else backs off as redis_client_backoff_next(). Pure. */
int64_t redis_client_retry_delay(int64_t cur, bool was_up, int64_t since_now,
                                 int64_t min, int64_t max);

/* Classify redis_host: "unix:..." is a socket path, what inet_pton()
 * takes as IPv4 or IPv6 is a literal, anything else a name. Pure. */
int redis_client_host_kind(const char *host);

/* The default resolver (a redis_client_resolve_fn): getaddrinfo() for
 * IPv4 first, IPv6 if there is no IPv4 address (as hiredis does), first
 * answer as a numeric string. Blocks; safe on any thread. */
int redis_client_resolve(const char *host, char *addr, size_t addrlen,
                         char *err, size_t errlen);

/* Tests: resolve names with FN instead (NULL: redis_client_resolve()).
 * Applies from the next lookup on; survives redis_client_init(). */
void redis_client_set_resolver(redis_client_resolve_fn fn);

const char *redis_client_state_name(int state);

#endif
