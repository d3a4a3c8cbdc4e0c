/* transport_plain.c - the plain TCP transport (see transport.h): each
 * operation is the one system call it names, so the table costs one
 * indirect call per step and nothing else. Worker only.
 * SPDX-License-Identifier: MIT */
#include "transport.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include "defs.h"
#include "log.h"
#include "net.h"

/* errno after a failed call: RC_AGAIN, or RC_ERR (logged at INFO). */
static ssize_t
plain_failed(int fd, const char *what)
{
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return RC_AGAIN;
    log_errno(LOG_INFO, errno, "%s() failed on fd %d", what, fd);
    return RC_ERR;
}

static ssize_t
plain_read(int fd, void *buf, size_t len)
{
    for (;;) {
        /* recv(), not read(): the socket call without the file layer */
        ssize_t n = recv(fd, buf, len, 0);
        if (n >= 0)
            return n;
        if (errno != EINTR)
            return plain_failed(fd, "recv");
    }
}

static ssize_t
plain_write(int fd, const void *buf, size_t len, bool more)
{
    for (;;) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | (more ? MSG_MORE : 0));
        if (n >= 0)
            return n;
        if (errno != EINTR)
            return plain_failed(fd, "send");
    }
}

static ssize_t
plain_sendfile(int fd, int file_fd, off_t *pos, size_t len)
{
    for (;;) {
        ssize_t n = sendfile(fd, file_fd, pos, len);
        if (n >= 0)
            return n;
        if (errno != EINTR)
            return plain_failed(fd, "sendfile");
    }
}

static int
plain_peek(int fd)
{
    char ch;
    ssize_t n;

    do {
        n = recv(fd, &ch, 1, MSG_PEEK | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n > 0)
        return RC_OK;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return RC_AGAIN;
    return RC_DONE;
}

static void
plain_shutdown(int fd)
{
    shutdown(fd, SHUT_WR);
}

static void
plain_nodelay(int fd)
{
    int on = 1;

    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

static void
plain_close(int fd)
{
    close(fd);
}

static void
plain_refuse(int fd, const char *resp, size_t len)
{
    net_refuse(fd, resp, len);
}

const struct transport_ops transport_plain = {
    .name     = "plain",
    .secure   = false,
    .open     = NULL,
    .read     = plain_read,
    .write    = plain_write,
    .sendfile = plain_sendfile,
    .peek     = plain_peek,
    .crossed  = NULL,
    .timed_out = NULL,
    .shutdown = plain_shutdown,
    .nodelay  = plain_nodelay,
    .close    = plain_close,
    .refuse   = plain_refuse,
};
