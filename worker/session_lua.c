/* session_lua.c - the Lua scripts of the session routes (see
 * session_lua.h). Worker only.
 * SPDX-License-Identifier: MIT */
#include "session_lua.h"

/* Before a password is checked: refuse when either failure count
 * (KEYS[1]: client and username, KEYS[2]: client) has reached its limit
 * (ARGV[1], ARGV[2]), answering how many ms remain of its window;
 * otherwise count this attempt as a failure in both, in advance (ARGV[3]:
 * the window in ms, started by the first), and answer 0. Counting first
 * means concurrent guesses cannot all pass the check before any of them
 * fails; a login that succeeds gives its count back. */
const char session_lua_reserve[] =
    "for i = 1, 2 do "
    "  local n = tonumber(redis.call('GET', KEYS[i]) or '0') "
    "  if n >= tonumber(ARGV[i]) then "
    "    local ms = redis.call('PTTL', KEYS[i]) "
    "    if ms < 0 then "
    "      redis.call('PEXPIRE', KEYS[i], ARGV[3]) "
    "      ms = tonumber(ARGV[3]) "
    "    end "
    "    return math.max(ms, 1) "
    "  end "
    "end "
    "for i = 1, 2 do "
    "  if redis.call('INCR', KEYS[i]) == 1 then "
    "    redis.call('PEXPIRE', KEYS[i], ARGV[3]) "
    "  end "
    "end "
    "return 0";

/* After the check: ARGV[1] "ok" (the password was right: forget the
 * client's failures for this username, give back the client-wide count)
 * or "refund" (the attempt was never judged: give back both). */
const char session_lua_release[] =
    "if ARGV[1] == 'ok' then "
    "  redis.call('DEL', KEYS[1]) "
    "elseif tonumber(redis.call('GET', KEYS[1]) or '0') > 0 "
    "   and redis.call('DECR', KEYS[1]) <= 0 then "
    "  redis.call('DEL', KEYS[1]) "
    "end "
    "if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 "
    "   and redis.call('DECR', KEYS[2]) <= 0 then "
    "  redis.call('DEL', KEYS[2]) "
    "end "
    "return 0";

/* A new session KEYS[1] for user ARGV[1] (token ARGV[3], ttl ARGV[2] s),
 * listed in the user's set KEYS[2] by the time Redis made it (in us, so
 * that the order is exact: the oldest is the lowest): expired members
 * are dropped, and beyond ARGV[4] sessions the oldest end. */
const char session_lua_create[] =
    "local now = redis.call('TIME') "
    "local us = tonumber(now[1]) * 1000000 + tonumber(now[2]) "
    "redis.call('HSET', KEYS[1], 'user', ARGV[1], 'since', now[1]) "
    "redis.call('EXPIRE', KEYS[1], ARGV[2]) "
    "for _, t in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do "
    "  if redis.call('EXISTS', 'session:' .. t) == 0 then "
    "    redis.call('ZREM', KEYS[2], t) "
    "  end "
    "end "
    "redis.call('ZADD', KEYS[2], us, ARGV[3]) "
    "local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[4]) "
    "if over > 0 then "
    "  for _, t in ipairs(redis.call('ZRANGE', KEYS[2], 0, over - 1)) do "
    "    redis.call('DEL', 'session:' .. t) "
    "  end "
    "  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, over - 1) "
    "end "
    "if redis.call('TTL', KEYS[2]) < tonumber(ARGV[2]) then "
    "  redis.call('EXPIRE', KEYS[2], ARGV[2]) "
    "end "
    "return 1";

/* The user of session KEYS[1] (a hash, or a plain name as stored before
 * sessions were hashes), or nil. */
#define SESSION_LUA_USER                                                    \
    "local user, since "                                                    \
    "if redis.call('TYPE', KEYS[1]).ok == 'string' then "                   \
    "  user = redis.call('GET', KEYS[1]) "                                  \
    "  since = '0' "                                                        \
    "else "                                                                 \
    "  user = redis.call('HGET', KEYS[1], 'user') "                         \
    "  since = redis.call('HGET', KEYS[1], 'since') or '0' "                \
    "end "

/* /welcome: refresh session KEYS[1] for ARGV[1] s (and the user's set)
 * and answer "<since> <live sessions> <user>", or nil when it is gone. */
const char session_lua_welcome[] =
    SESSION_LUA_USER
    "if not user then return false end "
    "redis.call('EXPIRE', KEYS[1], ARGV[1]) "
    "local set, n = 'sessions:' .. user, 0 "
    "for _, t in ipairs(redis.call('ZRANGE', set, 0, -1)) do "
    "  if redis.call('EXISTS', 'session:' .. t) == 1 then "
    "    n = n + 1 "
    "  else "
    "    redis.call('ZREM', set, t) "
    "  end "
    "end "
    "if n > 0 and redis.call('TTL', set) < tonumber(ARGV[1]) then "
    "  redis.call('EXPIRE', set, ARGV[1]) "
    "end "
    "return since .. ' ' .. n .. ' ' .. user";

/* /logout: end session KEYS[1] (token ARGV[1]), or with ARGV[2] "all"
 * every session of its user. Answers how many ended. */
const char session_lua_logout[] =
    SESSION_LUA_USER
    "local n = redis.call('DEL', KEYS[1]) "
    "if not user then return n end "
    "local set = 'sessions:' .. user "
    "if ARGV[2] ~= 'all' then "
    "  redis.call('ZREM', set, ARGV[1]) "
    "  return n "
    "end "
    "for _, t in ipairs(redis.call('ZRANGE', set, 0, -1)) do "
    "  n = n + redis.call('DEL', 'session:' .. t) "
    "end "
    "redis.call('DEL', set) "
    "return n";
