/* timer.c - deadlines on a min-heap with one evtimer (see timer.h).
 * Worker only; single-threaded.
 * SPDX-License-Identifier: MIT */
#include "timer.h"

#include <event2/event.h>
#include <stddef.h>

#include "clock.h"
#include "defs.h"
#include "log.h"

/* Upper bound on how many expired timers one wake-up handles. */
#define TIMER_BATCH 1024

static struct {
    minheap      *heap;
    struct event *ev;
    uint64_t      armed_for;    /* key the evtimer is set for; 0: not armed */
} T;

#define timer_of(n) ((struct timer_node *) ((char *) (n) - offsetof(struct timer_node, hn)))

static void
timer_arm(void)
{
    struct minheap_node *top = minheap_top(T.heap);
    uint64_t now = clock_now(), delay;
    struct timeval tv;

    if (top == NULL) {
        if (T.armed_for != 0)
            evtimer_del(T.ev);
        T.armed_for = 0;
        return;
    }
    if (T.armed_for != 0 && T.armed_for <= top->key)
        return;     /* fires early at worst, then re-arms */
    delay = top->key > now ? top->key - now : 0;
    tv.tv_sec = (time_t) (delay / 1000);
    tv.tv_usec = (suseconds_t) (delay % 1000) * 1000;
    evtimer_add(T.ev, &tv);
    T.armed_for = top->key;
}

static void
timer_expire_cb(evutil_socket_t fd, short what, void *arg)
{
    uint64_t now = clock_update();
    struct minheap_node *n;

    UNUSED(fd);
    UNUSED(what);
    UNUSED(arg);
    T.armed_for = 0;
    for (int k = 0; k < TIMER_BATCH && (n = minheap_top(T.heap)) != NULL; k++) {
        struct timer_node *t = timer_of(n);
        if (n->key > now)
            break;
        if (t->deadline > now) {
            minheap_adjust(T.heap, n, t->deadline);     /* lazily moved */
            continue;
        }
        minheap_erase(T.heap, n);
        t->cb(t);
    }
    timer_arm();
}

int
timer_init(struct event_base *base)
{
    T.heap = minheap_create(1024);
    T.ev = evtimer_new(base, timer_expire_cb, NULL);
    T.armed_for = 0;
    if (T.heap == NULL || T.ev == NULL) {
        log_msg(LOG_CRIT, "cannot create the timer heap");
        return RC_ERR;
    }
    return RC_OK;
}

void
timer_deinit(void)
{
    if (T.ev != NULL)
        event_free(T.ev);
    minheap_destroy(T.heap);
    T.ev = NULL;
    T.heap = NULL;
}

void
timer_set(struct timer_node *t, uint64_t deadline)
{
    t->deadline = deadline;
    if (!minheap_node_queued(&t->hn)) {
        t->hn.key = deadline;
        if (minheap_push(T.heap, &t->hn) != RC_OK) {
            log_msg(LOG_ERR, "timer heap: out of memory");
            return;
        }
    } else if (deadline < t->hn.key || deadline - t->hn.key >= TIMER_LAZY_MS) {
        minheap_adjust(T.heap, &t->hn, deadline);
    } else {
        return;     /* lazy: the heap wakes us a little early */
    }
    timer_arm();
}

void
timer_clear(struct timer_node *t)
{
    minheap_erase(T.heap, &t->hn);
}

size_t
timer_count(void)
{
    return T.heap != NULL ? minheap_size(T.heap) : 0;
}
