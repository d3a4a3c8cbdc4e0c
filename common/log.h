/* log.h - leveled logger with a process tag ("[master]", "[worker 3]").
 * One log per process; the level check happens before any formatting.
 * Lines look like: "2026/11/22 04:28:00 [notice] [master] 1234: message".
 * SPDX-License-Identifier: MIT */
#ifndef COMMON_LOG_H
#define COMMON_LOG_H

#include "defs.h"

enum log_level {
    LOG_CRIT = 0,
    LOG_ERR,
    LOG_WARN,
    LOG_NOTICE,
    LOG_INFO,
    LOG_DEBUG
};

extern int log_level_cur;

/* Set the tag written on every line, e.g. "master" or "worker 3". */
void log_set_tag(const char *tag);

void log_set_level(int level);

/* Parse "crit".."debug"; returns the level or RC_ERR. */
int log_level_parse(const char *name);
const char *log_level_name(int level);

/* Send the log to PATH ("stderr" or NULL means standard error). The file is
 * opened O_APPEND and reopened by log_reopen(). Returns RC_OK or RC_ERR
 * (and keeps the previous destination). */
int log_open(const char *path);

/* Reopen the file given to log_open() (logrotate, SIGUSR1). No-op for stderr. */
int log_reopen(void);

/* Close the file; later lines go to stderr. */
void log_close(void);

/* The descriptor lines are written to (for dup2 onto stderr when daemonized). */
int log_fd(void);

void log_write(int level, int err, const char *fmt, ...) PRINTF_LIKE(3, 4);

#define log_msg(level, ...)                                                 \
    do {                                                                    \
        if ((level) <= log_level_cur)                                       \
            log_write((level), 0, __VA_ARGS__);                             \
    } while (0)

/* Like log_msg(), adding ": strerror(err) (err)" at the end. */
#define log_errno(level, err, ...)                                          \
    do {                                                                    \
        if ((level) <= log_level_cur)                                       \
            log_write((level), (err), __VA_ARGS__);                         \
    } while (0)

#endif
