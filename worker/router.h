/* router.h - method + path -> handler. Worker only.
 * SPDX-License-Identifier: MIT */
#ifndef WORKER_ROUTER_H
#define WORKER_ROUTER_H

struct conn;

/* Answer the parsed request on C (in CONN_PROCESSING): static files for
 * GET/HEAD, the session routes, 405 with Allow for a method a path does not
 * take. Leaves C in CONN_WRITING, CONN_WAIT_REDIS or CONN_CLOSING. */
void router_dispatch(struct conn *c);

#endif
