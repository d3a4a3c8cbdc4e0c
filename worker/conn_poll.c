/* conn_poll.c - client sockets in an epoll set of their own (see
 * conn_poll.h).
 * SPDX-License-Identifier: MIT */
#include "conn_poll.h"

#include <errno.h>
#include <event2/event.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "defs.h"
#include "log.h"

static struct {
    int                 epfd;
    struct event       *ev;         /* EV_READ on epfd, level-triggered */
    struct event       *later_ev;   /* activated by conn_poll_later() */
    conn_poll_ready_cb  ready;
    conn_poll_later_cb  later;
} CP = { -1, NULL, NULL, NULL, NULL };

static void
conn_poll_cb(evutil_socket_t fd, short what, void *arg)
{
    struct epoll_event evs[CONN_POLL_BATCH];
    int n;

    UNUSED(what);
    UNUSED(arg);
    do {
        n = epoll_wait(fd, evs, CONN_POLL_BATCH, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        log_errno(LOG_ERR, errno, "epoll_wait() on the connection set failed");
        return;
    }
    for (int i = 0; i < n; i++) {
        uint32_t e = evs[i].events;
        unsigned w = 0;

        if (e & (EPOLLIN | EPOLLERR | EPOLLHUP))
            w |= CONN_POLL_IN;
        if (e & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            w |= CONN_POLL_OUT;
        CP.ready(evs[i].data.u64, w);
    }
}

static void
conn_poll_later_run(evutil_socket_t fd, short what, void *arg)
{
    UNUSED(fd);
    UNUSED(what);
    UNUSED(arg);
    CP.later();
}

int
conn_poll_init(struct event_base *base, conn_poll_ready_cb ready,
               conn_poll_later_cb later)
{
    CP.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (CP.epfd < 0) {
        log_errno(LOG_CRIT, errno, "epoll_create1() failed");
        return RC_ERR;
    }
    CP.ready = ready;
    CP.later = later;
    CP.ev = event_new(base, CP.epfd, EV_READ | EV_PERSIST, conn_poll_cb, NULL);
    CP.later_ev = event_new(base, -1, 0, conn_poll_later_run, NULL);
    if (CP.ev == NULL || CP.later_ev == NULL || event_add(CP.ev, NULL) < 0) {
        log_msg(LOG_CRIT, "cannot watch the connection set");
        conn_poll_deinit();
        return RC_ERR;
    }
    return RC_OK;
}

void
conn_poll_deinit(void)
{
    if (CP.ev != NULL)
        event_free(CP.ev);
    if (CP.later_ev != NULL)
        event_free(CP.later_ev);
    CP.ev = CP.later_ev = NULL;
    if (CP.epfd >= 0)
        close(CP.epfd);
    CP.epfd = -1;
}

int
conn_poll_add(int fd, uint64_t key)
{
    struct epoll_event ev;

    ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
    ev.data.u64 = key;
    if (epoll_ctl(CP.epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        log_errno(LOG_ERR, errno, "epoll_ctl(ADD) failed for fd %d", fd);
        return RC_ERR;
    }
    return RC_OK;
}

void
conn_poll_later(void)
{
    if (CP.later_ev != NULL)
        event_active(CP.later_ev, 0, 0);
}
