/* test_dispatch_accept.c - the master's accept loop with real sockets in
 * one process (issue 8.7): when a worker's channel fails with an error
 * other than "full", its connections go to another worker, the master is
 * told (to replace that worker), and no later connection is sent to it.
 * When the only channel is full, connections wait in the master, nobody
 * gets a 503, and they go over as soon as the worker reads.
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "chan.h"
#include "defs.h"
#include "dispatch.h"
#include "log.h"
#include "net.h"
#include "proc.h"

#define SAFETY_MS 10000     /* bounds a hang only */

static struct worker_slot *broken_slot;
static int broken_calls;

static void
on_broken(struct worker_slot *w)
{
    broken_slot = w;
    broken_calls++;
}

static uint64_t
mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

/* A client connected to PORT that has sent a byte (the listen socket
 * defers accept until data arrives). */
static int
client_connect(int port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t) port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *) &a, sizeof(a)), 0);
    assert_int_equal(send(fd, "G", 1, 0), 1);
    return fd;
}

/* Run BASE until a connection arrives on channel end CHAN; returns how
 * many descriptors came (closing them). */
static int
await_fds(struct event_base *base, int chan)
{
    uint64_t limit = mono_ms() + SAFETY_MS;

    for (;;) {
        struct chan_msg msg;
        int fds[CHAN_MAX_FDS], nfds = 0;
        int rc = chan_recv(chan, &msg, fds, CHAN_MAX_FDS, &nfds);
        if (rc == RC_OK) {
            assert_int_equal(msg.type, CHAN_NEW_CONN);
            for (int i = 0; i < nfds; i++)
                close(fds[i]);
            return nfds;
        }
        assert_int_equal(rc, RC_AGAIN);
        if (mono_ms() > limit)
            fail_msg("no connection reached the healthy worker");
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    }
}

static void
test_dispatch_broken_channel_replaced(void **state)
{
    struct event_base *base = event_base_new();
    int dead[2], live[2], port, lfd, c1, c2;
    struct worker_slot *w0, *w1;

    (void) state;
    assert_non_null(base);
    assert_int_equal(chan_open(dead), RC_OK);
    assert_int_equal(chan_open(live), RC_OK);
    close(dead[1]);             /* the worker's end is gone: EPIPE */

    w0 = proc_alloc();
    w1 = proc_alloc();
    assert_non_null(w0);
    assert_non_null(w1);
    w0->pid = 1000; w0->chan_fd = dead[0]; w0->id = 1;
    w1->pid = 1001; w1->chan_fd = live[0]; w1->id = 2;
    for (struct worker_slot *w = w0; w <= w1; w++) {
        w->alive = w->ready = true;
        w->max_conns = 100;
    }

    lfd = net_listen("127.0.0.1", 0, 16, &port);
    assert_true(lfd >= 0);
    dispatch_set_broken_cb(on_broken);
    assert_int_equal(dispatch_start(base, lfd), RC_OK);

    /* the first pick is slot 0 (ties start at the cursor): its send fails */
    c1 = client_connect(port);
    assert_int_equal(await_fds(base, live[1]), 1);
    assert_int_equal(broken_calls, 1);
    assert_ptr_equal(broken_slot, w0);
    assert_false(w0->alive);
    assert_int_equal(w0->active, 0);
    assert_int_equal(w1->active, 1);

    /* later connections skip it */
    c2 = client_connect(port);
    assert_int_equal(await_fds(base, live[1]), 1);
    assert_int_equal(broken_calls, 1);
    assert_int_equal(w1->active, 2);

    close(c1);
    close(c2);
    dispatch_stop();
    close(dead[0]);
    close(live[0]);
    close(live[1]);
    proc_release(w1);
    proc_release(w0);
    event_base_free(base);
}

/* Nothing has arrived on client FD (no 503, no EOF). */
static void
assert_nothing_received(int fd)
{
    char b;

    assert_int_equal(recv(fd, &b, 1, MSG_DONTWAIT), -1);
    assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
}

static void
test_dispatch_full_channel_holds_connections(void **state)
{
    struct event_base *base = event_base_new();
    struct chan_msg filler = { CHAN_LOAD, 0 }, msg;
    int ch[2], port, lfd, c[4], got = 0, fillers = 0, fds[CHAN_MAX_FDS], nfds;
    struct worker_slot *w;
    uint64_t limit;

    (void) state;
    assert_non_null(base);
    assert_int_equal(chan_open(ch), RC_OK);
    w = proc_alloc();
    assert_non_null(w);
    w->pid = 1002; w->chan_fd = ch[0]; w->id = 3;
    w->alive = w->ready = true;
    w->max_conns = 100;
    /* the worker is slow: its channel takes nothing more */
    while (chan_send(ch[0], &filler, NULL, 0) == RC_OK)
        fillers++;
    assert_true(fillers > 0);

    lfd = net_listen("127.0.0.1", 0, 16, &port);
    assert_true(lfd >= 0);
    dispatch_set_broken_cb(on_broken);
    broken_calls = 0;
    assert_int_equal(dispatch_start(base, lfd), RC_OK);
    for (int i = 0; i < 3; i++)
        c[i] = client_connect(port);
    limit = mono_ms() + SAFETY_MS;
    while (dispatch_held() < 3) {
        if (mono_ms() > limit)
            fail_msg("the master holds %d of 3 connections", dispatch_held());
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    }
    for (int i = 0; i < 3; i++)
        assert_nothing_received(c[i]);
    assert_true(w->chan_full);
    assert_int_equal(w->active, 0);

    /* the worker reads its channel: the three go over, in order */
    for (int i = 0; i < fillers; i++) {
        assert_int_equal(chan_recv(ch[1], &msg, fds, CHAN_MAX_FDS, &nfds), RC_OK);
        assert_int_equal(msg.type, CHAN_LOAD);
    }
    while (got < 3)
        got += await_fds(base, ch[1]);
    assert_int_equal(got, 3);
    assert_int_equal(dispatch_held(), 0);
    assert_false(w->chan_full);
    assert_int_equal(w->active, 3);

    /* and accepting goes on */
    c[3] = client_connect(port);
    assert_int_equal(await_fds(base, ch[1]), 1);
    assert_int_equal(broken_calls, 0);

    for (int i = 0; i < 4; i++)
        close(c[i]);
    dispatch_stop();
    close(ch[0]);
    close(ch[1]);
    w->chan_fd = -1;
    if (w->chan_wev != NULL)
        event_free(w->chan_wev);
    w->chan_wev = NULL;
    proc_release(w);
    event_base_free(base);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dispatch_broken_channel_replaced),
        cmocka_unit_test(test_dispatch_full_channel_holds_connections),
    };

    log_set_level(LOG_CRIT);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
