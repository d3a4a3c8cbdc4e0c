/* session.c - account and session routes.
 * TODO(issue 4): users and sessions in Redis; until the Redis client lands
 * these routes answer 503 so that clients retry later rather than see a
 * wrong answer.
 * SPDX-License-Identifier: MIT */
#include "session.h"

#include "conn.h"

static void
session_unavailable(struct conn *c)
{
    conn_respond_error(c, 503, "Retry-After: 5\r\n");
}

void
session_register(struct conn *c)
{
    session_unavailable(c);
}

void
session_login(struct conn *c)
{
    session_unavailable(c);
}

void
session_logout(struct conn *c)
{
    session_unavailable(c);
}

void
session_welcome(struct conn *c)
{
    session_unavailable(c);
}
