/* dispatch.c - the master's accept loop: accept until EAGAIN, choose the
 * least-loaded worker for each connection and pass the fds over its channel,
 * up to CHAN_MAX_FDS per message. Master only; never blocks, never reads a
 * request byte. After accept the master owns an fd; once chan_send()
 * succeeds it closes its copy, and when no worker can take it, it answers
 * 503 itself and closes (memcached's rule: the sender closes on failure).
 * A channel that is full (the worker has not read its messages yet; the
 * kernel queues only net.unix.max_dgram_qlen of them) is not a reason to
 * refuse anyone: the fds go to another worker, or, when every channel that
 * could take them is full, the master holds them and stops accepting until
 * a channel is writable again; meanwhile the kernel's listen queue holds
 * the rest. 503 is only for "every worker is at max_connections".
 * The copies of the fds sent are closed together at the end of the accept
 * callback: held open until then, the fds accepted in one callback are
 * mostly consecutive numbers, and one close_range() closes each run of
 * them (under load, one system call per callback instead of one per
 * connection).
 * SPDX-License-Identifier: MIT */
#include "dispatch.h"

#include <errno.h>
#include <linux/close_range.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "chan.h"
#include "clock.h"
#include "defs.h"
#include "log.h"
#include "net.h"

/* Accepts per readiness callback; the loop also stops at EAGAIN. */
#define DISPATCH_ACCEPT_MAX  512
/* How long accepting pauses after EMFILE/ENFILE, so we do not spin. */
#define DISPATCH_PAUSE_MS    100
/* Fds held while every channel is full: one accept callback's worth plus
 * the batches it had not sent yet (accepting stops while any are held). */
#define DISPATCH_HELD_MAX    (DISPATCH_ACCEPT_MAX + PROC_MAX * CHAN_MAX_FDS)

struct dispatch_batch {
    int fds[CHAN_MAX_FDS];
    int n;
};

/* One listen socket: the plain port or the TLS port. */
struct dispatch_listener {
    int           lfd;
    struct event *lev;
};

static struct {
    struct event_base *base;
    struct dispatch_listener l[DISPATCH_KINDS];
    struct event      *resume;
    struct event      *kick;        /* dispatch_kick(), run from the loop */
    size_t             cursor;
    uint64_t           last_full_log;
    uint64_t           last_emfile_log;
    dispatch_broken_cb broken;
    /* per worker and per kind: a message says which port its fds came
     * from (CHAN_NEW_CONN or CHAN_NEW_TLS_CONN) */
    struct dispatch_batch batch[PROC_MAX][DISPATCH_KINDS];
    /* fds sent to a worker, whose copies are still to be closed */
    int                sent[DISPATCH_ACCEPT_MAX + CHAN_MAX_FDS];
    int                nsent;
    bool               no_close_range;
    /* accepted, waiting for a channel with room (see the top) */
    struct { int fd, kind; } held[DISPATCH_HELD_MAX];
    int                nheld;
    bool               emfile_paused;   /* the resume timer is pending */
} D = { .l = { { -1, NULL }, { -1, NULL } } };

static const uint32_t dispatch_msg_type[DISPATCH_KINDS] = {
    CHAN_NEW_CONN, CHAN_NEW_TLS_CONN
};

static const char dispatch_503[] =
    "HTTP/1.1 503 Service Unavailable\r\n"
    "Content-Type: text/html; charset=utf-8\r\n"
    "Content-Length: 57\r\n"
    "Retry-After: 1\r\n"
    "Connection: close\r\n"
    "\r\n"
    "<html><body><h1>503 Service Unavailable</h1></body></html>";

/* No worker can take FD: answer 503 without reading and close it. */
static void
dispatch_refuse(int fd)
{
    uint64_t now = clock_update();

    if (now - D.last_full_log >= 1000 || D.last_full_log == 0) {
        log_msg(LOG_WARN, "every worker is at max_connections; "
                "answering 503");
        D.last_full_log = now;
    }
    net_refuse(fd, dispatch_503, sizeof(dispatch_503) - 1);
}

static void dispatch_place(int fd, int kind);
static void dispatch_send_all(void);

static void
dispatch_listen_pause(void)
{
    for (int k = 0; k < DISPATCH_KINDS; k++) {
        if (D.l[k].lev != NULL)
            event_del(D.l[k].lev);
    }
}

/* Accept again, unless fds are held or accept() failed for want of
 * descriptors a moment ago (the resume timer will). */
static void
dispatch_listen_resume(void)
{
    if (D.nheld > 0 || D.emfile_paused)
        return;
    for (int k = 0; k < DISPATCH_KINDS; k++) {
        if (D.l[k].lev != NULL)
            event_add(D.l[k].lev, NULL);
    }
}

/* Hand the held fds out again (those that still find no room are held
 * again, in the same order). */
static void
dispatch_place_held(void)
{
    int n = D.nheld;

    if (n == 0)
        return;
    D.nheld = 0;
    for (int k = 0; k < n; k++)
        dispatch_place(D.held[k].fd, D.held[k].kind);
}

/* W's channel has room again. */
static void
dispatch_writable_cb(evutil_socket_t fd, short what, void *arg)
{
    struct worker_slot *w = arg;

    UNUSED(fd);
    UNUSED(what);
    w->chan_full = false;
    dispatch_place_held();
    dispatch_send_all();
    dispatch_listen_resume();
}

static void
dispatch_kick_cb(evutil_socket_t fd, short what, void *arg)
{
    UNUSED(fd);
    UNUSED(what);
    UNUSED(arg);
    dispatch_place_held();
    dispatch_send_all();
    dispatch_listen_resume();
}

void
dispatch_kick(void)
{
    struct timeval now = { 0, 0 };

    if (D.nheld > 0 && D.kick != NULL)
        evtimer_add(D.kick, &now);
}

/* W's channel took no more: no fds go to W until it is writable. */
static void
dispatch_mark_full(struct worker_slot *w)
{
    w->chan_full = true;
    if (w->chan_wev == NULL)
        w->chan_wev = event_new(D.base, w->chan_fd, EV_WRITE,
                                dispatch_writable_cb, w);
    if (w->chan_wev == NULL || event_add(w->chan_wev, NULL) < 0) {
        /* cannot wait for it: try it again on the next accept */
        log_msg(LOG_ERR, "cannot watch the channel of worker %d", w->id);
        w->chan_full = false;
    }
}

static int
dispatch_fd_cmp(const void *a, const void *b)
{
    int x = *(const int *) a, y = *(const int *) b;

    return (x > y) - (x < y);
}

/* Close the master's copies of the fds sent: sorted, each run of
 * consecutive numbers with one close_range() (every fd in it is one of
 * ours), a lone fd with close(). */
static void
dispatch_close_sent(void)
{
    int n = D.nsent;

    D.nsent = 0;
    qsort(D.sent, (size_t) n, sizeof(int), dispatch_fd_cmp);
    for (int i = 0; i < n;) {
        int j = i + 1;

        while (j < n && D.sent[j] == D.sent[j - 1] + 1)
            j++;
        if (j - i == 1 || D.no_close_range
            || syscall(SYS_close_range, (unsigned) D.sent[i],
                       (unsigned) D.sent[j - 1], 0u) < 0) {
            if (j - i > 1 && !D.no_close_range) {
                D.no_close_range = true;    /* ENOSYS: before Linux 5.9 */
                log_errno(LOG_NOTICE, errno, "close_range() failed; closing "
                          "the fds handed to workers one by one");
            }
            for (int k = i; k < j; k++)
                close(D.sent[k]);
        }
        i = j;
    }
}

/* Send the pending fds of KIND of slot I. On failure they go to other
 * workers. */
static void
dispatch_flush(size_t i, int kind)
{
    struct dispatch_batch *b = &D.batch[i][kind];
    struct worker_slot *w = &proc_table[i];
    struct chan_msg msg = { dispatch_msg_type[kind], b->n };
    int fds[CHAN_MAX_FDS], n = b->n, rc;

    if (n == 0)
        return;
    b->n = 0;
    memcpy(fds, b->fds, sizeof(int) * (size_t) n);

    rc = chan_send(w->chan_fd, &msg, fds, n);
    if (rc == RC_OK) {
        /* the worker has its own copies now; ours close in a while */
        if (D.nsent + n > (int) ARRAY_SIZE(D.sent))
            dispatch_close_sent();
        memcpy(D.sent + D.nsent, fds, sizeof(int) * (size_t) n);
        D.nsent += n;
        return;
    }
    /* the worker did not get them: take them back and try the others */
    w->active -= n;
    if (rc == RC_AGAIN) {
        dispatch_mark_full(w);
    } else {
        /* the channel is broken for good: the master replaces the worker
         * (or it is already dead, and SIGCHLD will say so) */
        w->alive = false;
        if (D.broken != NULL)
            D.broken(w);
    }
    for (int k = 0; k < n; k++)
        dispatch_place(fds[k], kind);
}

/* Could a worker take a connection but for its full channel? */
static bool
dispatch_only_full(void)
{
    for (size_t i = 0; i < proc_count; i++) {
        const struct worker_slot *s = &proc_table[i];
        if (s->pid != 0 && s->alive && s->ready && !s->draining
            && s->chan_full && s->active < s->max_conns)
            return true;
    }
    return false;
}

/* Queue FD (from listener KIND) for the least-loaded worker; a full batch
 * is sent at once. */
static void
dispatch_place(int fd, int kind)
{
    int i = dispatch_pick(proc_table, proc_count, &D.cursor);
    struct dispatch_batch *b;

    if (i < 0 && D.nheld < DISPATCH_HELD_MAX && dispatch_only_full()) {
        /* until a channel has room; accepting stops meanwhile */
        D.held[D.nheld].fd = fd;
        D.held[D.nheld].kind = kind;
        D.nheld++;
        dispatch_listen_pause();
        return;
    }
    if (i < 0) {
        /* a TLS client cannot read a plain 503: it is just closed */
        if (kind == DISPATCH_PLAIN)
            dispatch_refuse(fd);
        else
            close(fd);
        return;
    }
    proc_table[i].active++;
    b = &D.batch[i][kind];
    b->fds[b->n++] = fd;
    if (b->n == CHAN_MAX_FDS)
        dispatch_flush((size_t) i, kind);
}

static void
dispatch_resume_cb(evutil_socket_t fd, short what, void *arg)
{
    UNUSED(fd);
    UNUSED(what);
    UNUSED(arg);
    D.emfile_paused = false;
    dispatch_listen_resume();
}

/* Send every pending batch, then close our copies of what was sent. */
static void
dispatch_send_all(void)
{
    /* a failed send re-places its fds and excludes that worker, so this
     * ends after at most one pass per worker */
    for (bool again = true; again; ) {
        again = false;
        for (size_t i = 0; i < proc_count; i++) {
            for (int k = 0; k < DISPATCH_KINDS; k++) {
                if (D.batch[i][k].n > 0) {
                    dispatch_flush(i, k);
                    again = true;
                }
            }
        }
    }
    dispatch_close_sent();
}

static void
dispatch_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
    int fd, err, kind = (int) (intptr_t) arg;

    UNUSED(what);
    /* the first come first (after a reload, say, while fds were held) */
    dispatch_place_held();
    if (D.nheld > 0)
        dispatch_listen_pause();
    for (int k = 0; k < DISPATCH_ACCEPT_MAX && D.nheld == 0; k++) {
        fd = net_accept(lfd);
        if (fd == RC_AGAIN)
            break;
        if (fd < 0) {
            err = errno;
            if (err == EMFILE || err == ENFILE || err == ENOBUFS
                || err == ENOMEM) {
                uint64_t now = clock_update();
                struct timeval tv = { 0, DISPATCH_PAUSE_MS * 1000 };
                if (now - D.last_emfile_log >= 60000 || D.last_emfile_log == 0) {
                    log_errno(LOG_ERR, err, "accept() failed; pausing "
                              "accepts for %dms", DISPATCH_PAUSE_MS);
                    D.last_emfile_log = now;
                }
                dispatch_listen_pause();
                D.emfile_paused = true;
                evtimer_add(D.resume, &tv);
            } else {
                log_errno(LOG_ERR, err, "accept() failed");
            }
            break;
        }
        dispatch_place(fd, kind);
    }
    dispatch_send_all();
}

int
dispatch_listen(struct event_base *base, int kind, int lfd)
{
    struct dispatch_listener *l = &D.l[kind];

    dispatch_close(kind);
    D.base = base;
    if (D.resume == NULL)
        D.resume = evtimer_new(base, dispatch_resume_cb, NULL);
    if (D.kick == NULL)
        D.kick = evtimer_new(base, dispatch_kick_cb, NULL);
    l->lfd = lfd;
    l->lev = event_new(base, lfd, EV_READ | EV_PERSIST, dispatch_accept_cb,
                       (void *) (intptr_t) kind);
    if (l->lev == NULL || D.resume == NULL || D.kick == NULL
        || event_add(l->lev, NULL) < 0) {
        log_msg(LOG_CRIT, "cannot watch the listen socket");
        dispatch_close(kind);
        return RC_ERR;
    }
    return RC_OK;
}

int
dispatch_start(struct event_base *base, int lfd)
{
    return dispatch_listen(base, DISPATCH_PLAIN, lfd);
}

void
dispatch_close(int kind)
{
    struct dispatch_listener *l = &D.l[kind];

    if (l->lev != NULL)
        event_free(l->lev);
    l->lev = NULL;
    if (l->lfd >= 0)
        close(l->lfd);
    l->lfd = -1;
}

void
dispatch_stop(void)
{
    for (int k = 0; k < DISPATCH_KINDS; k++)
        dispatch_close(k);
    if (D.resume != NULL)
        event_free(D.resume);
    D.resume = NULL;
    D.emfile_paused = false;
    if (D.kick != NULL)
        event_free(D.kick);
    D.kick = NULL;
}

void
dispatch_set_broken_cb(dispatch_broken_cb cb)
{
    D.broken = cb;
}

int
dispatch_held(void)
{
    return D.nheld;
}

int
dispatch_listen_fd(void)
{
    return D.l[DISPATCH_PLAIN].lfd;
}

int
dispatch_fd(int kind)
{
    return D.l[kind].lfd;
}
