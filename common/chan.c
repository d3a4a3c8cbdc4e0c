/* chan.c - fixed-size master <-> worker messages with SCM_RIGHTS.
 * Both processes; never blocks (the sockets are non-blocking).
 * SPDX-License-Identifier: MIT */
#include "chan.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "defs.h"
#include "log.h"

int
chan_open(int fds[2])
{
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
                   fds) < 0) {
        log_errno(LOG_ERR, errno, "socketpair() failed");
        return RC_ERR;
    }
    return RC_OK;
}

int
chan_send(int chan_fd, const struct chan_msg *msg, const int *fds, int nfds)
{
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * CHAN_MAX_FDS)];
    } ctl;
    struct iovec iov = { (void *) msg, sizeof(*msg) };
    struct msghdr mh;
    ssize_t n;

    if (nfds < 0 || nfds > CHAN_MAX_FDS)
        return RC_ERR;
    memset(&mh, 0, sizeof(mh));
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    if (nfds > 0) {
        struct cmsghdr *cm;
        memset(&ctl, 0, sizeof(ctl));
        mh.msg_control = ctl.buf;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t) nfds);
        cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t) nfds);
        memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t) nfds);
    }
    do {
        n = sendmsg(chan_fd, &mh, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return RC_AGAIN;
        if (errno == ENOBUFS || errno == ENOMEM || errno == ETOOMANYREFS) {
            /* short of kernel memory, or of room for descriptors in
             * flight: passes, like a full channel */
            log_errno(LOG_WARN, errno, "sendmsg() on channel %d; trying "
                      "again later", chan_fd);
            return RC_AGAIN;
        }
        if (errno == EPIPE || errno == ECONNRESET)
            log_errno(LOG_INFO, errno, "sendmsg() on channel %d", chan_fd);
        else
            log_errno(LOG_ERR, errno, "sendmsg() failed on channel %d", chan_fd);
        return RC_ERR;
    }
    if ((size_t) n != sizeof(*msg)) {
        log_msg(LOG_ERR, "sendmsg() on channel %d sent %zd bytes", chan_fd, n);
        return RC_ERR;
    }
    return RC_OK;
}

/* Close every descriptor a control message carries (rejected messages). */
static void
chan_close_rights(struct msghdr *mh)
{
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm != NULL;
         cm = CMSG_NXTHDR(mh, cm)) {
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS
            && cm->cmsg_len >= CMSG_LEN(0)) {
            size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            int fd;
            for (size_t i = 0; i < k; i++) {
                memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
                close(fd);
            }
        }
    }
}

int
chan_recv(int chan_fd, struct chan_msg *msg, int *fds, int maxfds, int *nfds)
{
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * CHAN_MAX_FDS)];
    } ctl;
    struct iovec iov = { msg, sizeof(*msg) };
    struct msghdr mh;
    struct cmsghdr *cm;
    ssize_t n;
    int count = 0;

    *nfds = 0;
    memset(msg, 0, sizeof(*msg));
    memset(&mh, 0, sizeof(mh));
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctl.buf;
    mh.msg_controllen = sizeof(ctl.buf);

    do {
        n = recvmsg(chan_fd, &mh, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return RC_AGAIN;
        if (errno == ECONNRESET)
            return RC_DONE;
        log_errno(LOG_ERR, errno, "recvmsg() failed on channel %d", chan_fd);
        return RC_ERR;
    }
    if (n == 0) {
        /* EOF carries no descriptors; a zero-length message that does is
         * malformed, and what it carried must not leak */
        if (mh.msg_controllen > 0 && CMSG_FIRSTHDR(&mh) != NULL) {
            log_msg(LOG_ERR, "empty channel message carrying descriptors");
            chan_close_rights(&mh);
            return RC_ERR;
        }
        return RC_DONE;
    }

    if ((size_t) n != sizeof(*msg) || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
        log_msg(LOG_ERR, "malformed channel message: %zd bytes, flags 0x%x",
                n, (unsigned) mh.msg_flags);
        chan_close_rights(&mh);
        return RC_ERR;
    }

    cm = CMSG_FIRSTHDR(&mh);
    if (cm != NULL) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS
            || cm->cmsg_len < CMSG_LEN(sizeof(int))
            || (cm->cmsg_len - CMSG_LEN(0)) % sizeof(int) != 0
            || CMSG_NXTHDR(&mh, cm) != NULL) {
            log_msg(LOG_ERR, "channel message with a bad control header");
            chan_close_rights(&mh);
            return RC_ERR;
        }
        count = (int) ((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
    }

    if (msg->type == 0 || msg->type >= CHAN_TYPE_MAX
        || (msg->type == CHAN_NEW_CONN || msg->type == CHAN_NEW_TLS_CONN
            ? (msg->arg != count || count < 1 || count > maxfds)
            : count != 0)) {
        log_msg(LOG_ERR, "channel message type %u arg %d with %d fds rejected",
                msg->type, msg->arg, count);
        chan_close_rights(&mh);
        return RC_ERR;
    }
    if (count > 0)
        memcpy(fds, CMSG_DATA(cm), sizeof(int) * (size_t) count);
    *nfds = count;
    return RC_OK;
}
