/* router.h - method + path -> handler, chosen on the request head. Worker
 * only. Routing happens before any body byte is read, so a handler that
 * takes no body never has one stored for it.
 * SPDX-License-Identifier: MIT */
#ifndef WORKER_ROUTER_H
#define WORKER_ROUTER_H

#include <stddef.h>

struct txn;

/* Largest body a form route reads (username and password, encoded). */
#define ROUTER_FORM_MAX 4096

/* The head of T's request is complete: choose what answers it (kept
 * with the request, txn_set_route()) and return the largest body that
 * answer reads; 0 when it is given without one (a body the client sends
 * anyway is read and thrown away after the answer, never stored). */
size_t router_select(struct txn *t);

/* Answer T as router_select() chose:
 * static files for GET/HEAD, the session routes, OPTIONS (200 with the
 * path's Allow, or the server's for "*"), 405 with Allow for a method a
 * path does not take, 400 for a path that does not decode.
 * Leaves T answered, suspended (txn_suspend()) or closing. worker.c hands
 * both functions to the connection layer (conn_set_hooks()). */
void router_dispatch(struct txn *t);

#endif
