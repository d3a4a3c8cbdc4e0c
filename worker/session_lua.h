/* session_lua.h - what the session routes run in Redis: each step that
 * touches several keys is one Lua script, so it is one atomic round trip
 * (EVAL; the keys are described in session.c). Worker only.
 * SPDX-License-Identifier: MIT */
#ifndef WORKER_SESSION_LUA_H
#define WORKER_SESSION_LUA_H

/* Failed logins: reserve an attempt in both counts or say how long the
 * client must wait (KEYS: pair, client; ARGV: pair limit, client limit,
 * window ms); then release it ("ok" or "refund"). */
extern const char session_lua_reserve[];
extern const char session_lua_release[];

/* A new session and its place in the user's set (KEYS: session, set;
 * ARGV: user, ttl s, token, most sessions per user). */
extern const char session_lua_create[];

/* /welcome: refresh, answer "<since> <sessions> <user>" or nil (KEYS:
 * session; ARGV: ttl s). */
extern const char session_lua_welcome[];

/* /logout: end the session or, with ARGV[2] "all", all of its user's
 * (KEYS: session; ARGV: token, "all" or "one"). */
extern const char session_lua_logout[];

#endif
