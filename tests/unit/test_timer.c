/* test_timer.c - timer.h on a real event_base: order, clear, lazy moves.
 * SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <event2/event.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "defs.h"
#include "log.h"
#include "timer.h"

#define MAX_FIRES   16
#define GUARD_MS    2000    /* safety net only: a hang becomes a failure */

/* One test's world: the base, the guard, and what fired, in order. */
struct fx {
    struct event_base *base;
    struct event      *guard;
    bool               timed_out;
    int                want;                /* stop the loop after this many */
    int                nfired;
    struct timer_node *fired[MAX_FIRES];
    uint64_t           fired_at[MAX_FIRES]; /* clock_now() in the callback */
    uint64_t           fired_dl[MAX_FIRES]; /* the node's deadline then */
    struct timer_node  n[8];
};

static struct fx *F;    /* the callbacks get only the node */

static void
fire_cb(struct timer_node *t)
{
    if (F->nfired < MAX_FIRES) {
        F->fired[F->nfired] = t;
        F->fired_at[F->nfired] = clock_now();
        F->fired_dl[F->nfired] = t->deadline;
    }
    F->nfired++;
    /* the node left the heap before its callback runs */
    assert_false(timer_pending(t));
    if (F->nfired >= F->want)
        event_base_loopbreak(F->base);
}

static void
guard_cb(evutil_socket_t fd, short what, void *arg)
{
    UNUSED(fd);
    UNUSED(what);
    UNUSED(arg);
    F->timed_out = true;
    event_base_loopbreak(F->base);
}

static int
setup_fx(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    if (f == NULL || (f->base = event_base_new()) == NULL)
        return -1;
    if (timer_init(f->base) != RC_OK)
        return -1;
    f->guard = evtimer_new(f->base, guard_cb, NULL);
    if (f->guard == NULL)
        return -1;
    for (size_t i = 0; i < ARRAY_SIZE(f->n); i++)
        timer_node_init(&f->n[i], fire_cb);
    clock_update();
    F = f;
    *state = f;
    return 0;
}

static int
teardown_fx(void **state)
{
    struct fx *f = *state;

    for (size_t i = 0; i < ARRAY_SIZE(f->n); i++)
        timer_clear(&f->n[i]);
    event_free(f->guard);
    timer_deinit();
    event_base_free(f->base);
    free(f);
    F = NULL;
    return 0;
}

/* Run the loop until WANT callbacks ran (or the guard trips: a failure). */
static void
run_until(struct fx *f, int want)
{
    struct timeval tv = { GUARD_MS / 1000, (GUARD_MS % 1000) * 1000 };

    f->want = want;
    evtimer_add(f->guard, &tv);
    event_base_loop(f->base, 0);
    evtimer_del(f->guard);
    if (f->timed_out)
        fail_msg("only %d of %d timers fired within the %d ms safety net",
                 f->nfired, want, GUARD_MS);
}

/* Every callback ran at or after its node's deadline. */
static void
check_not_early(const struct fx *f)
{
    for (int i = 0; i < f->nfired && i < MAX_FIRES; i++) {
        if (f->fired_at[i] < f->fired_dl[i])
            fail_msg("fire %d: callback at %llu, deadline %llu", i,
                     (unsigned long long) f->fired_at[i],
                     (unsigned long long) f->fired_dl[i]);
    }
}

static void
test_timer_fires_in_deadline_order(void **state)
{
    struct fx *f = *state;
    uint64_t now = clock_now();
    /* set in scrambled order */
    static const int order[] = { 3, 0, 4, 1, 2 };      /* index -> rank */

    for (int i = 0; i < 5; i++)
        timer_set(&f->n[i], now + 10 + 8 * (uint64_t) order[i]);
    assert_int_equal(timer_count(), 5);
    for (int i = 0; i < 5; i++)
        assert_true(timer_pending(&f->n[i]));
    /* callbacks run from the loop, never from timer_set() */
    assert_int_equal(f->nfired, 0);

    run_until(f, 5);
    assert_int_equal(f->nfired, 5);
    assert_ptr_equal(f->fired[0], &f->n[1]);
    assert_ptr_equal(f->fired[1], &f->n[3]);
    assert_ptr_equal(f->fired[2], &f->n[4]);
    assert_ptr_equal(f->fired[3], &f->n[0]);
    assert_ptr_equal(f->fired[4], &f->n[2]);
    check_not_early(f);
    assert_int_equal(timer_count(), 0);
}

/* A deadline already in the past fires on the next loop turn. */
static void
test_timer_past_deadline_fires(void **state)
{
    struct fx *f = *state;
    uint64_t now = clock_now();

    timer_set(&f->n[0], now - 5);
    timer_set(&f->n[1], now + 10);
    assert_int_equal(f->nfired, 0);
    run_until(f, 2);
    assert_ptr_equal(f->fired[0], &f->n[0]);
    assert_ptr_equal(f->fired[1], &f->n[1]);
    check_not_early(f);
}

static void
test_timer_clear_prevents_firing(void **state)
{
    struct fx *f = *state;
    uint64_t now = clock_now();

    timer_set(&f->n[0], now + 10);      /* cleared: the earliest one */
    timer_set(&f->n[1], now + 20);      /* cleared */
    timer_set(&f->n[2], now + 30);
    timer_set(&f->n[3], now + 50);
    timer_clear(&f->n[0]);
    timer_clear(&f->n[1]);
    timer_clear(&f->n[1]);              /* twice: a no-op */
    timer_clear(&f->n[5]);              /* never set: a no-op */
    assert_false(timer_pending(&f->n[0]));
    assert_false(timer_pending(&f->n[1]));
    assert_int_equal(timer_count(), 2);

    run_until(f, 2);
    assert_int_equal(f->nfired, 2);
    assert_ptr_equal(f->fired[0], &f->n[2]);
    assert_ptr_equal(f->fired[1], &f->n[3]);
    check_not_early(f);
    /* n[3] fired 20 ms after n[2] would have: n[0], n[1] never ran */
    for (int i = 0; i < f->nfired; i++) {
        assert_ptr_not_equal(f->fired[i], &f->n[0]);
        assert_ptr_not_equal(f->fired[i], &f->n[1]);
    }
}

/* A node cleared from inside another's callback does not fire. */
static void
clear_other_cb(struct timer_node *t)
{
    timer_clear(&F->n[1]);
    fire_cb(t);
}

static void
test_timer_clear_from_callback(void **state)
{
    struct fx *f = *state;
    uint64_t now = clock_now();

    timer_node_init(&f->n[0], clear_other_cb);
    timer_set(&f->n[0], now + 10);
    timer_set(&f->n[1], now + 12);      /* due right after n[0] */
    timer_set(&f->n[2], now + 40);
    run_until(f, 2);
    assert_ptr_equal(f->fired[0], &f->n[0]);
    assert_ptr_equal(f->fired[1], &f->n[2]);
}

/* Later by less than TIMER_LAZY_MS: the heap keeps the old key, the node
 * wakes early, and must be re-queued rather than fired. */
static void
test_timer_lazy_later_fires_at_new_deadline(void **state)
{
    struct fx *f = *state;
    uint64_t now = clock_now(), d0 = now + 20, d1 = d0 + 100;

    assert_true(d1 - d0 < TIMER_LAZY_MS);
    timer_set(&f->n[0], d0);
    timer_set(&f->n[0], d1);
    assert_int_equal(f->n[0].deadline, d1);
    assert_int_equal(f->n[0].hn.key, d0);   /* the lazy path was taken */
    assert_int_equal(timer_count(), 1);
    /* a witness between the old and the new deadline */
    timer_set(&f->n[1], d0 + 50);

    run_until(f, 2);
    assert_int_equal(f->nfired, 2);
    {
        /* the witness comes first unless the loop woke so late that both
         * were due in the same turn (a loaded machine): then either order
         * is right, and only "never before its deadline" matters */
        int moved = f->fired[0] == &f->n[0] ? 0 : 1;
        assert_ptr_equal(f->fired[1 - moved], &f->n[1]);
        if (f->fired_at[moved] < d1)
            fail_msg("lazily moved timer fired at %llu, before its deadline "
                     "%llu", (unsigned long long) f->fired_at[moved],
                     (unsigned long long) d1);
        if (moved == 0 && f->fired_at[1] < d1)
            fail_msg("the witness (due %llu) fired after the moved timer, "
                     "though the loop ran before %llu",
                     (unsigned long long) (d0 + 50), (unsigned long long) d1);
    }
    check_not_early(f);
}

/* Many small moves (a busy connection touching its deadline) add up: the
 * node still fires at the last deadline, never at an intermediate one. */
static void
test_timer_lazy_repeated_moves(void **state)
{
    struct fx *f = *state;
    uint64_t now = clock_now(), d = now + 10;

    timer_set(&f->n[0], d);
    for (int i = 0; i < 6; i++) {
        d += 45;                        /* each < TIMER_LAZY_MS, 270 total */
        timer_set(&f->n[0], d);
    }
    assert_int_equal(timer_count(), 1);
    run_until(f, 1);
    assert_int_equal(f->nfired, 1);
    assert_true(f->fired_at[0] >= d);
}

/* Later by TIMER_LAZY_MS or more goes through the heap at once. */
static void
test_timer_far_later_reorders(void **state)
{
    struct fx *f = *state;
    uint64_t now = clock_now();

    timer_set(&f->n[0], now + 10);
    timer_set(&f->n[1], now + 30);
    timer_set(&f->n[0], now + 10 + TIMER_LAZY_MS);
    assert_int_equal(f->n[0].hn.key, now + 10 + TIMER_LAZY_MS);
    run_until(f, 2);
    assert_ptr_equal(f->fired[0], &f->n[1]);
    assert_ptr_equal(f->fired[1], &f->n[0]);
    check_not_early(f);
}

static void
test_timer_reset_earlier(void **state)
{
    struct fx *f = *state;
    uint64_t now = clock_now();

    timer_set(&f->n[0], now + 200);
    timer_set(&f->n[1], now + 60);
    timer_set(&f->n[2], now + 40);
    timer_set(&f->n[0], now + 15);      /* earlier than everyone */
    assert_int_equal(f->n[0].deadline, now + 15);
    assert_int_equal(timer_count(), 3);
    run_until(f, 3);
    assert_ptr_equal(f->fired[0], &f->n[0]);
    assert_ptr_equal(f->fired[1], &f->n[2]);
    assert_ptr_equal(f->fired[2], &f->n[1]);
    check_not_early(f);
}

/* A callback that sets its own node again (idle timer re-armed). */
static int rearm_left;

static void
rearm_cb(struct timer_node *t)
{
    fire_cb(t);
    if (rearm_left-- > 0)
        timer_set(t, clock_now() + 5);
}

static void
test_timer_rearm_from_callback(void **state)
{
    struct fx *f = *state;
    uint64_t now = clock_now();

    rearm_left = 3;
    timer_node_init(&f->n[0], rearm_cb);
    timer_set(&f->n[0], now + 5);
    timer_set(&f->n[1], now + 60);
    run_until(f, 5);
    for (int i = 0; i < 4; i++)
        assert_ptr_equal(f->fired[i], &f->n[0]);
    assert_ptr_equal(f->fired[4], &f->n[1]);
    check_not_early(f);
    assert_int_equal(timer_count(), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup_fx, teardown_fx)
        T(test_timer_fires_in_deadline_order),
        T(test_timer_past_deadline_fires),
        T(test_timer_clear_prevents_firing),
        T(test_timer_clear_from_callback),
        T(test_timer_lazy_later_fires_at_new_deadline),
        T(test_timer_lazy_repeated_moves),
        T(test_timer_far_later_reorders),
        T(test_timer_reset_earlier),
        T(test_timer_rearm_from_callback),
#undef T
    };

    log_set_level(LOG_CRIT);
    return cmocka_run_group_tests_name("timer", tests, NULL, NULL);
}
