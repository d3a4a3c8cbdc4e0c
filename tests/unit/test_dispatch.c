/* test_dispatch.c - dispatch_pick(): least loaded, round-robin ties, skips.
 * SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "defs.h"
#include "dispatch.h"
#include "proc.h"

enum { MAX_SLOTS = 16 };

/* ---- Helpers ---- */

/* N live workers, idle, room for 100 conns each. */
static void
slots_init(struct worker_slot *w, size_t n)
{
    memset(w, 0, n * sizeof(*w));
    for (size_t i = 0; i < n; i++) {
        w[i].pid = (pid_t) (1000 + i);
        w[i].chan_fd = (int) (10 + i);
        w[i].id = (int) i;
        w[i].max_conns = 100;
        w[i].alive = true;
        w[i].ready = true;
    }
}

static void
slots_set_active(struct worker_slot *w, const int *active, size_t n)
{
    for (size_t i = 0; i < n; i++)
        w[i].active = active[i];
}

/* Pick with the slot table untouched (the function is pure). */
static int
pick(const struct worker_slot *w, size_t n, size_t *cursor)
{
    struct worker_slot copy[MAX_SLOTS];
    int i;

    assert_true(n <= MAX_SLOTS);
    memcpy(copy, w, n * sizeof(*w));
    i = dispatch_pick(w, n, cursor);
    assert_memory_equal(copy, w, n * sizeof(*w));
    assert_true(i >= -1 && i < (int) n);
    return i;
}

/* ---- Least loaded ---- */

static void
test_dispatch_least_loaded_wins(void **state)
{
    static const int active[] = { 5, 2, 7, 3 };
    struct worker_slot w[4];

    (void) state;
    slots_init(w, 4);
    slots_set_active(w, active, 4);
    /* wherever the round-robin cursor stands */
    for (size_t start = 0; start < 9; start++) {
        size_t cursor = start;
        assert_int_equal(pick(w, 4, &cursor), 1);
    }
}

/* A loaded worker is not picked just because the cursor points at it. */
static void
test_dispatch_least_loaded_over_cursor(void **state)
{
    static const int active[] = { 0, 9, 9, 1, 9 };
    struct worker_slot w[5];
    size_t cursor = 1;

    (void) state;
    slots_init(w, 5);
    slots_set_active(w, active, 5);
    assert_int_equal(pick(w, 5, &cursor), 0);
    w[0].active = 2;
    assert_int_equal(pick(w, 5, &cursor), 3);
}

/* ---- Ties ---- */

/* With equal loads, every round of n picks visits every worker once. */
static void
test_dispatch_ties_round_robin(void **state)
{
    enum { N = 5 };
    struct worker_slot w[N];
    size_t cursor = 0;
    int prev = -1;

    (void) state;
    slots_init(w, N);
    for (int round = 0; round < 3; round++) {
        int seen[N] = { 0 };
        for (int k = 0; k < N; k++) {
            int i = pick(w, N, &cursor);
            assert_true(i >= 0);
            assert_int_not_equal(i, prev);
            seen[i]++;
            prev = i;
        }
        for (int i = 0; i < N; i++)
            assert_int_equal(seen[i], 1);
    }
}

/* Ties among a subset alternate within that subset. */
static void
test_dispatch_ties_among_least_loaded(void **state)
{
    static const int active[] = { 1, 0, 1, 0, 2 };
    struct worker_slot w[5];
    size_t cursor = 0;
    int seen[5] = { 0 };

    (void) state;
    slots_init(w, 5);
    slots_set_active(w, active, 5);
    for (int k = 0; k < 6; k++)
        seen[pick(w, 5, &cursor)]++;
    assert_int_equal(seen[1], 3);
    assert_int_equal(seen[3], 3);
}

/* Used the way the accept loop uses it (active++ per pick), the load stays
 * within one connection across workers. */
static void
test_dispatch_keeps_load_balanced(void **state)
{
    enum { N = 7 };
    struct worker_slot w[N];
    size_t cursor = 3;

    (void) state;
    slots_init(w, N);
    w[2].active = 4;
    for (int k = 0; k < 200; k++) {
        int i = pick(w, N, &cursor), lo = w[0].active, hi = w[0].active;
        assert_true(i >= 0);
        w[i].active++;
        for (int j = 1; j < N; j++) {
            lo = w[j].active < lo ? w[j].active : lo;
            hi = w[j].active > hi ? w[j].active : hi;
        }
        if (k > 30)                     /* after w[2]'s head start is used up */
            assert_true(hi - lo <= 1);
    }
}

/* ---- Skipped slots ---- */

enum skip_reason { SKIP_PID0, SKIP_DEAD, SKIP_NOT_READY, SKIP_DRAINING, SKIP_CHAN_FULL,
                   SKIP_AT_MAX, SKIP_OVER_MAX, SKIP_NO_ROOM };

struct skip_case {
    int              line;
    const char      *what;
    enum skip_reason why;
};

static const struct skip_case skip_cases[] = {
    { __LINE__, "pid 0 (unused slot)", SKIP_PID0 },
    { __LINE__, "not alive", SKIP_DEAD },
    { __LINE__, "not ready yet (new generation starting)", SKIP_NOT_READY },
    { __LINE__, "draining", SKIP_DRAINING },
    { __LINE__, "channel full", SKIP_CHAN_FULL },
    { __LINE__, "active == max_conns", SKIP_AT_MAX },
    { __LINE__, "active > max_conns", SKIP_OVER_MAX },
    { __LINE__, "max_conns 0", SKIP_NO_ROOM },
};

static void
make_ineligible(struct worker_slot *s, enum skip_reason why)
{
    switch (why) {
    case SKIP_PID0:      s->pid = 0; break;
    case SKIP_DEAD:      s->alive = false; break;
    case SKIP_NOT_READY: s->ready = false; break;
    case SKIP_DRAINING:  s->draining = true; break;
    case SKIP_CHAN_FULL: s->chan_full = true; break;
    case SKIP_AT_MAX:    s->max_conns = s->active = 3; break;
    case SKIP_OVER_MAX:  s->max_conns = 2; s->active = 3; break;
    case SKIP_NO_ROOM:   s->max_conns = 0; s->active = 0; break;
    }
}

/* The ineligible slot is the least loaded one, so only the skip rule keeps
 * it from winning; it is tried at every position and cursor. */
static void
test_dispatch_skips_ineligible(void **state)
{
    enum { N = 4 };
    struct worker_slot w[N];

    (void) state;
    for (size_t c = 0; c < ARRAY_SIZE(skip_cases); c++) {
        const struct skip_case *sc = &skip_cases[c];
        for (size_t bad = 0; bad < N; bad++) {
            for (size_t start = 0; start < N; start++) {
                size_t cursor = start;
                int i;
                slots_init(w, N);
                for (size_t j = 0; j < N; j++)
                    w[j].active = 10 + (int) j;
                w[bad].active = 0;
                make_ineligible(&w[bad], sc->why);
                i = pick(w, N, &cursor);
                if (i < 0 || (size_t) i == bad)
                    fail_msg("case at line %d (%s): slot %zu, cursor %zu: "
                             "picked %d", sc->line, sc->what, bad, start, i);
                if (i != (bad == 0 ? 1 : 0))
                    fail_msg("case at line %d (%s): picked %d, not the least "
                             "loaded eligible slot", sc->line, sc->what, i);
            }
        }
    }
}

/* Nothing can take a connection: -1, and the cursor stays. */
static void
test_dispatch_none_eligible(void **state)
{
    enum { N = 6 };
    struct worker_slot w[N];
    size_t cursor = 4;

    (void) state;
    slots_init(w, N);
    for (size_t j = 0; j < N; j++)
        make_ineligible(&w[j], skip_cases[j % ARRAY_SIZE(skip_cases)].why);
    assert_int_equal(pick(w, N, &cursor), -1);
    assert_int_equal(cursor, 4);

    slots_init(w, N);
    for (size_t j = 0; j < N; j++)
        make_ineligible(&w[j], SKIP_AT_MAX);
    assert_int_equal(pick(w, N, &cursor), -1);
    assert_int_equal(cursor, 4);
}

static void
test_dispatch_empty_table(void **state)
{
    struct worker_slot w[1];
    size_t cursor = 7;

    (void) state;
    slots_init(w, 1);
    assert_int_equal(dispatch_pick(w, 0, &cursor), -1);
    assert_int_equal(dispatch_pick(NULL, 0, &cursor), -1);
    assert_int_equal(cursor, 7);
}

/* A single eligible worker is picked every time; a cursor far past the end
 * of the table still works. */
static void
test_dispatch_single_and_wild_cursor(void **state)
{
    struct worker_slot w[3];
    size_t cursor = SIZE_MAX;

    (void) state;
    slots_init(w, 3);
    w[0].draining = true;
    w[2].alive = false;
    for (int k = 0; k < 5; k++)
        assert_int_equal(pick(w, 3, &cursor), 1);
    cursor = 1000003;
    assert_int_equal(pick(w, 3, &cursor), 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dispatch_least_loaded_wins),
        cmocka_unit_test(test_dispatch_least_loaded_over_cursor),
        cmocka_unit_test(test_dispatch_ties_round_robin),
        cmocka_unit_test(test_dispatch_ties_among_least_loaded),
        cmocka_unit_test(test_dispatch_keeps_load_balanced),
        cmocka_unit_test(test_dispatch_skips_ineligible),
        cmocka_unit_test(test_dispatch_none_eligible),
        cmocka_unit_test(test_dispatch_empty_table),
        cmocka_unit_test(test_dispatch_single_and_wild_cursor),
    };

    return cmocka_run_group_tests_name("dispatch", tests, NULL, NULL);
}
