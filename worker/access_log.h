/* access_log.h - per-worker access log in the combined log format,
 * buffered and flushed at least once a second, when the buffer fills, and
 * on exit. Worker only.
 * SPDX-License-Identifier: MIT */
#ifndef WORKER_ACCESS_LOG_H
#define WORKER_ACCESS_LOG_H

struct conn;
struct event_base;

/* Open PATH ("off" or "" disables). Returns RC_OK or RC_ERR (logged). */
int access_log_open(struct event_base *base, const char *path);

/* Append the line for the response C just finished. No-op when off. */
void access_log_request(const struct conn *c);

/* Write out what is buffered. */
void access_log_flush(void);

/* Reopen the file (log rotation). */
void access_log_reopen(void);

/* Flush and close. */
void access_log_close(void);

#endif
