/* access_log.c - combined-format access log (see access_log.h).
 * Lines collect in a 64 KiB buffer; one write() per flush keeps the cost
 * per request down to formatting. Worker only.
 * SPDX-License-Identifier: MIT */
#include "access_log.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "defs.h"
#include "log.h"

#define ACCESS_LOG_BUF  (64 * 1024)
#define ACCESS_LOG_LINE 4096

static struct {
    int           fd;           /* -1: off */
    char          path[1024];
    char          buf[ACCESS_LOG_BUF];
    size_t        len;
    struct event *tick;
} A = { .fd = -1 };

static void
access_log_tick_cb(evutil_socket_t fd, short what, void *arg)
{
    UNUSED(fd);
    UNUSED(what);
    UNUSED(arg);
    access_log_flush();
}

int
access_log_open(struct event_base *base, const char *path)
{
    struct timeval one_second = { 1, 0 };

    if (path[0] == '\0' || strcmp(path, "off") == 0)
        return RC_OK;
    A.fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (A.fd < 0) {
        log_errno(LOG_ERR, errno, "cannot open access_log \"%s\"", path);
        return RC_ERR;
    }
    snprintf(A.path, sizeof(A.path), "%s", path);
    A.tick = event_new(base, -1, EV_PERSIST, access_log_tick_cb, NULL);
    if (A.tick == NULL || event_add(A.tick, &one_second) < 0) {
        log_msg(LOG_ERR, "cannot arm the access log timer");
        return RC_ERR;
    }
    return RC_OK;
}

void
access_log_flush(void)
{
    size_t off = 0;

    while (A.fd >= 0 && off < A.len) {
        ssize_t n = write(A.fd, A.buf + off, A.len - off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            log_errno(LOG_ERR, errno, "write() to the access log failed");
            break;
        }
        off += (size_t) n;
    }
    A.len = 0;
}

/* Copy a header value for a quoted log field: quotes and backslashes are
 * escaped, control bytes become '?'. */
static size_t
access_log_quote(char *out, size_t cap, const char *s, size_t len)
{
    size_t o = 0;

    if (len == 0) {
        if (cap > 1)
            out[o++] = '-';
        return o;
    }
    for (size_t i = 0; i < len && o + 2 < cap; i++) {
        unsigned char ch = (unsigned char) s[i];
        if (ch == '"' || ch == '\\') {
            out[o++] = '\\';
            out[o++] = (char) ch;
        } else if (ch < 0x20 || ch == 0x7f) {
            out[o++] = '?';
        } else {
            out[o++] = (char) ch;
        }
    }
    return o;
}

bool
access_log_on(void)
{
    return A.fd >= 0;
}

void
access_log_write(const struct access_log_rec *rec)
{
    static char when[64];
    static time_t when_at = -1;
    char line[ACCESS_LOG_LINE];
    time_t now;
    size_t n;
    int r;

    if (A.fd < 0)
        return;
    now = time(NULL);
    if (now != when_at) {           /* formatted once a second */
        struct tm tm;
        localtime_r(&now, &tm);
        strftime(when, sizeof(when), "%d/%b/%Y:%H:%M:%S %z", &tm);
        when_at = now;
    }

    r = snprintf(line, sizeof(line), "%.64s - - [%s] \"", rec->peer, when);
    n = (size_t) r;
    if (rec->request != NULL)
        n += access_log_quote(line + n, sizeof(line) - n - 256, rec->request,
                              rec->request_len);
    else
        n += access_log_quote(line + n, sizeof(line) - n - 256, "", 0);
    r = snprintf(line + n, sizeof(line) - n, "\" %d %llu \"", rec->status,
                 (unsigned long long) rec->bytes);
    n += (size_t) r;
    n += access_log_quote(line + n, sizeof(line) - n - 128, rec->referer,
                          rec->referer_len);
    line[n++] = '"';
    line[n++] = ' ';
    line[n++] = '"';
    n += access_log_quote(line + n, sizeof(line) - n - 8, rec->user_agent,
                          rec->user_agent_len);
    line[n++] = '"';
    line[n++] = '\n';

    if (A.len + n > sizeof(A.buf))
        access_log_flush();
    memcpy(A.buf + A.len, line, n);
    A.len += n;
}

void
access_log_reopen(void)
{
    int fd;

    if (A.fd < 0)
        return;
    access_log_flush();
    fd = open(A.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        log_errno(LOG_ERR, errno, "cannot reopen access_log \"%s\"", A.path);
        return;
    }
    dup2(fd, A.fd);
    close(fd);
}

void
access_log_close(void)
{
    access_log_flush();
    if (A.tick != NULL)
        event_free(A.tick);
    A.tick = NULL;
    if (A.fd >= 0)
        close(A.fd);
    A.fd = -1;
}
