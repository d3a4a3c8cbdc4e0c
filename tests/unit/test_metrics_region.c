/* test_metrics_region.c - metrics.h in one process: bucket bounds, the
 * slots' bookkeeping (start, exit, release), totals that a release does not
 * change, a respawn that keeps its slot's counters, the samples.
 * The region is mapped once for the whole program (as in the master), so
 * each test uses slots of its own and compares differences.
 * SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "defs.h"
#include "metrics.h"

#define NSLOTS 16

static int
group_setup(void **state)
{
    UNUSED(state);
    return metrics_map(NSLOTS) == RC_OK ? 0 : -1;
}

static struct metrics_counters
totals(void)
{
    struct metrics_counters c;

    assert_int_equal(metrics_totals(&c), RC_OK);
    return c;
}

/* Each duration lands in the first bucket whose bound it does not exceed;
 * past 10 s, in +Inf. */
static void
test_metrics_region_buckets(void **state)
{
    static const struct { int line; uint64_t us; unsigned bucket; } t[] = {
        { __LINE__, 0, 0 },           { __LINE__, 100, 0 },
        { __LINE__, 101, 1 },         { __LINE__, 250, 1 },
        { __LINE__, 999, 3 },         { __LINE__, 1000, 3 },
        { __LINE__, 1000000, 12 },    { __LINE__, 10000000, 15 },
        { __LINE__, 10000001, 16 },   { __LINE__, UINT64_MAX, 16 },
    };

    UNUSED(state);
    metrics_slot_start(0, 1000, 1, 1);
    metrics_attach(0);
    for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
        struct metrics_counters a = totals(), b;
        metrics_count_request(200, 10, t[i].us);
        b = totals();
        for (unsigned k = 0; k <= METRICS_BUCKETS; k++) {
            uint64_t d = b.duration[k] - a.duration[k];
            if (d != (k == t[i].bucket))
                fail_msg("line %d: %llu us counted in bucket %u", t[i].line,
                         (unsigned long long) t[i].us, k);
        }
        assert_int_equal(b.requests[200 - METRICS_CODE_MIN]
                         - a.requests[200 - METRICS_CODE_MIN], 1);
        assert_int_equal(b.bytes - a.bytes, 10);
    }
    /* a status outside 100-599 is counted as 500, not out of bounds */
    {
        struct metrics_counters a = totals(), b;
        metrics_count_request(0, 0, 0);
        metrics_count_request(600, 0, 0);
        b = totals();
        assert_int_equal(b.requests[500 - METRICS_CODE_MIN]
                         - a.requests[500 - METRICS_CODE_MIN], 2);
    }
}

/* A worker writes its slot; exit clears its gauges only; release moves
 * its counters into the folded totals: the sum never changes. */
static void
test_metrics_region_release_keeps_totals(void **state)
{
    struct metrics_region *m = metrics_region;
    struct metrics_counters a, b, c;
    uint64_t workers;

    UNUSED(state);
    metrics_slot_start(3, 1003, 3, 1);
    metrics_slot_start(4, 1004, 4, 1);
    workers = m->workers;
    a = totals();
    metrics_attach(3);
    for (int i = 0; i < 5; i++)
        metrics_count_request(404, 100, 50);
    metrics_self->c.accepted += 5;
    metrics_self->conns[METRICS_CONN_IDLE] = 2;
    metrics_self->redis_up = 1;
    metrics_attach(4);
    metrics_count_request(200, 7, 2000);
    b = totals();
    assert_int_equal(b.requests[404 - METRICS_CODE_MIN]
                     - a.requests[404 - METRICS_CODE_MIN], 5);
    assert_int_equal(b.bytes - a.bytes, 507);
    assert_int_equal(b.accepted - a.accepted, 5);

    metrics_slot_exited(3);
    assert_int_equal(m->workers, workers - 1);
    assert_int_equal(m->slot[3].info.pid, 0);
    assert_int_equal(m->slot[3].conns[METRICS_CONN_IDLE], 0);
    assert_int_equal(m->slot[3].redis_up, 0);
    c = totals();
    assert_memory_equal(&b, &c, sizeof(b));

    metrics_slot_release(3);
    c = totals();
    assert_memory_equal(&b, &c, sizeof(b));
    assert_int_equal(metrics_requests(&m->slot[3].c), 0);
    assert_int_equal(m->seq % 2, 0);
    assert_true(m->folded.requests[404 - METRICS_CODE_MIN] >= 5);

    /* the next worker of slot 3 starts from zero, the totals go on */
    metrics_slot_start(3, 2003, 5, 2);
    metrics_attach(3);
    metrics_count_request(404, 1, 1);
    c = totals();
    assert_int_equal(c.requests[404 - METRICS_CODE_MIN]
                     - a.requests[404 - METRICS_CODE_MIN], 6);
    assert_int_equal(metrics_requests(&m->slot[3].c), 1);
    metrics_slot_exited(3);
    metrics_slot_release(3);
    metrics_slot_exited(4);
    metrics_slot_release(4);
}

/* A respawned worker (same slot, no release) goes on with the counters;
 * its gauges start at zero. */
static void
test_metrics_region_respawn_keeps_counters(void **state)
{
    struct metrics_region *m = metrics_region;

    UNUSED(state);
    metrics_slot_start(6, 1006, 6, 1);
    metrics_attach(6);
    metrics_count_request(200, 1, 1);
    metrics_count_request(200, 1, 1);
    metrics_self->conns[METRICS_CONN_READING] = 3;
    metrics_slot_exited(6);                 /* kill -9 */
    metrics_slot_start(6, 2006, 6, 1);      /* respawned */
    metrics_self->conns[METRICS_CONN_WRITING] = 4;
    metrics_attach(6);
    assert_int_equal(m->slot[6].c.requests[200 - METRICS_CODE_MIN], 2);
    assert_int_equal(m->slot[6].conns[METRICS_CONN_WRITING], 0);
    assert_int_equal(m->slot[6].info.pid, 2006);
    metrics_slot_exited(6);
    metrics_slot_release(6);
}

/* Samples hold the request total, newest at nsamples - 1. */
static void
test_metrics_region_samples(void **state)
{
    struct metrics_region *m = metrics_region;
    uint64_t n0 = m->nsamples, last;

    UNUSED(state);
    metrics_slot_start(8, 1008, 8, 1);
    metrics_attach(8);
    metrics_take_sample(1000);
    last = m->samples[n0 % METRICS_SAMPLES].requests;
    assert_int_equal(last, metrics_requests(&m->folded)
                           + metrics_requests(&m->slot[8].c)
                           + metrics_requests(&m->slot[0].c));
    for (int i = 0; i < 3; i++)
        metrics_count_request(200, 0, 0);
    metrics_take_sample(2000);
    assert_int_equal(m->nsamples, n0 + 2);
    assert_int_equal(m->samples[(n0 + 1) % METRICS_SAMPLES].requests, last + 3);
    assert_int_equal(m->samples[(n0 + 1) % METRICS_SAMPLES].ms, 2000);
    metrics_slot_exited(8);
    metrics_slot_release(8);
}

static void
test_metrics_region_master_counters(void **state)
{
    struct metrics_region *m = metrics_region;
    uint64_t r = m->worker_restarts, ok = m->reloads_ok;
    uint64_t failed = m->reloads_failed;

    UNUSED(state);
    metrics_count_restart();
    metrics_count_reload(true);
    metrics_count_reload(false);
    metrics_count_reload(false);
    assert_int_equal(m->worker_restarts, r + 1);
    assert_int_equal(m->reloads_ok, ok + 1);
    assert_int_equal(m->reloads_failed, failed + 2);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_region_buckets),
        cmocka_unit_test(test_metrics_region_release_keeps_totals),
        cmocka_unit_test(test_metrics_region_respawn_keeps_counters),
        cmocka_unit_test(test_metrics_region_samples),
        cmocka_unit_test(test_metrics_region_master_counters),
    };

    return cmocka_run_group_tests_name("metrics_region", tests, group_setup,
                                       NULL);
}
