/* redis_lookup.h - one host name lookup for the Redis client, off the
 * event loop: a short-lived helper thread calls the resolver and reports
 * through an eventfd the loop watches. Used for redis_host and for the
 * redis_sentinels entries, so slow DNS never stalls a worker.
 * Worker only; start, abandon and the callback run on the loop thread.
 * SPDX-License-Identifier: MIT */
#ifndef WORKER_REDIS_LOOKUP_H
#define WORKER_REDIS_LOOKUP_H

#include <stddef.h>

/* Look up HOST; on RC_OK ADDR (ADDRLEN bytes) holds a numeric address, on
 * RC_ERR ERR holds the reason. Blocks; runs on the helper thread, so it
 * must not touch anything of the loop's. Same shape as
 * redis_client_resolve_fn. */
typedef int (*redis_lookup_fn)(const char *host, char *addr, size_t addrlen,
                               char *err, size_t errlen);

/* The answer: RC is RC_OK (ADDR numeric) or RC_ERR (ERR says why). Both
 * strings are valid only during the call. */
typedef void (*redis_lookup_cb)(int rc, const char *addr, const char *err,
                                void *arg);

struct redis_lookup;
struct event_base;

/* Start looking up HOST with FN on a detached thread. CB runs exactly once,
 * from the loop, unless the lookup is abandoned first; after CB returns the
 * lookup is gone. Returns NULL (logged) when no thread could be started. */
struct redis_lookup *redis_lookup_start(struct event_base *base,
                                        redis_lookup_fn fn, const char *host,
                                        redis_lookup_cb cb, void *arg);

/* We no longer want the answer: CB will not run. getaddrinfo() cannot be
 * interrupted, so the thread keeps running and frees what is left when it
 * returns (or dies with the process). Accepts NULL. */
void redis_lookup_abandon(struct redis_lookup *l);

/* The host L looks up (borrowed, valid while L is). */
const char *redis_lookup_host(const struct redis_lookup *l);

#endif
