/* timer.h - per-worker deadlines on one min-heap, with a single libevent
 * timer armed for the earliest one. Worker only; single-threaded.
 * Moving a deadline later by less than TIMER_LAZY_MS leaves the heap alone
 * (nginx's lazy delay): the node fires early, sees its real deadline is
 * still ahead, and is re-queued. So a busy connection costs no heap work.
 * SPDX-License-Identifier: MIT */
#ifndef WORKER_TIMER_H
#define WORKER_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#include "minheap.h"

#define TIMER_LAZY_MS 250

struct timer_node;
typedef void (*timer_cb)(struct timer_node *t);

struct timer_node {
    struct minheap_node hn;         /* hn.key: when the heap wakes us */
    uint64_t            deadline;   /* the real deadline (monotonic ms) */
    timer_cb            cb;
};

struct event_base;

/* Set up the heap and the libevent timer. Returns RC_OK or RC_ERR. */
int timer_init(struct event_base *base);
void timer_deinit(void);

static inline void
timer_node_init(struct timer_node *t, timer_cb cb)
{
    minheap_node_init(&t->hn);
    t->deadline = 0;
    t->cb = cb;
}

static inline bool
timer_pending(const struct timer_node *t)
{
    return minheap_node_queued(&t->hn);
}

/* Fire T's callback at DEADLINE (monotonic ms), replacing any earlier
 * setting. The callback runs from the loop, never from inside timer_set(). */
void timer_set(struct timer_node *t, uint64_t deadline);

/* Cancel T if pending. */
void timer_clear(struct timer_node *t);

/* Number of pending timers (tests, stats). */
size_t timer_count(void);

#endif
