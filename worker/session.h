/* session.h - register, login, logout and welcome handlers, with users and
 * sessions kept in Redis. Worker only.
 * SPDX-License-Identifier: MIT */
#ifndef WORKER_SESSION_H
#define WORKER_SESSION_H

struct conn;

void session_register(struct conn *c);
void session_login(struct conn *c);
void session_logout(struct conn *c);
void session_welcome(struct conn *c);

#endif
