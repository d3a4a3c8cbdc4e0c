/* session.h - register, login, logout and welcome handlers, with users and
 * sessions kept in Redis. Worker only.
 * SPDX-License-Identifier: MIT */
#ifndef WORKER_SESSION_H
#define WORKER_SESSION_H

struct txn;

#include <stddef.h>

/* Route handlers: they answer T at once, or suspend it (txn_suspend())
 * and answer from a Redis or hashing callback (txn_resume()). */
void session_register(struct txn *t);
void session_login(struct txn *t);
void session_logout(struct txn *t);
void session_welcome(struct txn *t);

/* A new session token: 32 random bytes as 64 lower-case hex digits and a
 * NUL in OUT (65 bytes). Returns RC_OK or RC_ERR. */
int session_token_new(char *out);

/* 1 when NAME (LEN bytes) is 3-32 of [A-Za-z0-9_.-], else 0. */
int session_username_valid(const char *name, size_t len);

#endif
