/* session.h - register, login, logout and welcome handlers, with users and
 * sessions kept in Redis. Worker only.
 * SPDX-License-Identifier: MIT */
#ifndef WORKER_SESSION_H
#define WORKER_SESSION_H

struct conn;

#include <stddef.h>

/* Route handlers: called in CONN_PROCESSING; they leave the conn in
 * CONN_WRITING (answered at once) or CONN_WAIT_REDIS (answered from a
 * callback, which then drives the conn on). */
void session_register(struct conn *c);
void session_login(struct conn *c);
void session_logout(struct conn *c);
void session_welcome(struct conn *c);

/* A new session token: 32 random bytes as 64 lower-case hex digits and a
 * NUL in OUT (65 bytes). Returns RC_OK or RC_ERR. */
int session_token_new(char *out);

/* 1 when NAME (LEN bytes) is 3-32 of [A-Za-z0-9_.-], else 0. */
int session_username_valid(const char *name, size_t len);

#endif
