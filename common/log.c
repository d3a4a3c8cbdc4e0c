/* log.c - leveled logger with a process tag.
 * Each line is formatted into one buffer and written with a single write()
 * on an O_APPEND descriptor, so lines of the master and its workers never
 * interleave inside a line.
 * SPDX-License-Identifier: MIT */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int log_level_cur = LOG_NOTICE;

static char log_tag[32] = "master";
static char log_path[4096];
static int log_file = -1;           /* -1: standard error */

static const char *const log_names[] = {
    "crit", "err", "warn", "notice", "info", "debug"
};

void
log_set_tag(const char *tag)
{
    snprintf(log_tag, sizeof(log_tag), "%s", tag);
}

void
log_set_level(int level)
{
    if (level >= LOG_CRIT && level <= LOG_DEBUG)
        log_level_cur = level;
}

int
log_level_parse(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(log_names); i++) {
        if (strcmp(name, log_names[i]) == 0)
            return (int) i;
    }
    return RC_ERR;
}

const char *
log_level_name(int level)
{
    if (level < LOG_CRIT || level > LOG_DEBUG)
        return "?";
    return log_names[level];
}

int
log_fd(void)
{
    return log_file >= 0 ? log_file : STDERR_FILENO;
}

int
log_open(const char *path)
{
    int fd;

    if (path == NULL || path[0] == '\0' || strcmp(path, "stderr") == 0) {
        log_close();
        return RC_OK;
    }
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        log_errno(LOG_ERR, errno, "open(\"%s\") failed", path);
        return RC_ERR;
    }
    log_close();
    log_file = fd;
    snprintf(log_path, sizeof(log_path), "%s", path);
    return RC_OK;
}

int
log_reopen(void)
{
    int fd;

    if (log_file < 0)
        return RC_OK;
    fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        log_errno(LOG_ERR, errno, "reopen(\"%s\") failed", log_path);
        return RC_ERR;
    }
    /* dup2 keeps the descriptor number, so a daemon's stderr follows too */
    if (dup2(fd, log_file) < 0) {
        close(fd);
        return RC_ERR;
    }
    close(fd);
    return RC_OK;
}

void
log_close(void)
{
    if (log_file >= 0)
        close(log_file);
    log_file = -1;
    log_path[0] = '\0';
}

void
log_write(int level, int err, const char *fmt, ...)
{
    char line[2048];
    size_t n, cap = sizeof(line) - 1;   /* room for the newline */
    struct tm tm;
    time_t now = time(NULL);
    va_list ap;
    int r, saved = errno;

    localtime_r(&now, &tm);
    n = strftime(line, cap, "%Y/%m/%d %H:%M:%S", &tm);
    r = snprintf(line + n, cap - n, " [%s] [%s] %d: ", log_level_name(level),
                 log_tag, (int) getpid());
    if (r > 0)
        n += ((size_t) r < cap - n) ? (size_t) r : cap - n;

    va_start(ap, fmt);
    r = vsnprintf(line + n, cap - n, fmt, ap);
    va_end(ap);
    if (r > 0)
        n += ((size_t) r < cap - n) ? (size_t) r : cap - n;

    if (err != 0 && n < cap) {
        r = snprintf(line + n, cap - n, ": %s (%d)", strerror(err), err);
        if (r > 0)
            n += ((size_t) r < cap - n) ? (size_t) r : cap - n;
    }
    line[n++] = '\n';

    /* a log line that cannot be written has nowhere else to go */
    if (write(log_fd(), line, n) < 0) {
        /* ignored */
    }
    errno = saved;
}
