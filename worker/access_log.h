/* access_log.h - per-worker access log in the combined log format,
 * buffered and flushed at least once a second, when the buffer fills, and
 * on exit. Worker only.
 * SPDX-License-Identifier: MIT */
#ifndef WORKER_ACCESS_LOG_H
#define WORKER_ACCESS_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;

/* One finished request, filled once by the connection layer; the
 * strings are borrowed for the call (they point into the request). */
struct access_log_rec {
    const char *peer;           /* client address as text, "-" unknown */
    const char *request;        /* request line as sent (method, target,
                                 * version); NULL when none was parsed */
    size_t      request_len;
    const char *referer;        /* header values; length 0: absent */
    size_t      referer_len;
    const char *user_agent;
    size_t      user_agent_len;
    int         status;
    uint64_t    bytes;          /* body bytes sent */
    uint64_t    start_ms;       /* clock_now() at the first byte ... */
    uint64_t    end_ms;         /* ... and when the response was out */
};

/* Open PATH ("off" or "" disables). Returns RC_OK or RC_ERR (logged). */
int access_log_open(struct event_base *base, const char *path);

/* Is the log on? Callers skip filling a record when it is not. */
bool access_log_on(void);

/* Append the line for request R. No-op when off. */
void access_log_write(const struct access_log_rec *r);

/* Write out what is buffered. */
void access_log_flush(void);

/* Reopen the file (log rotation). */
void access_log_reopen(void);

/* Flush and close. */
void access_log_close(void);

#endif
