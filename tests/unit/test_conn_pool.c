/* test_conn_pool.c - conn_pool.h: slots, free list, generations, lazy use.
 * SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "conn.h"
#include "conn_pool.h"
#include "defs.h"

#define POOL_N 8

static int
setup_pool(void **state)
{
    UNUSED(state);
    return conn_pool_init(POOL_N) == RC_OK ? 0 : -1;
}

static int
teardown_pool(void **state)
{
    UNUSED(state);
    conn_pool_deinit();
    return 0;
}

/* A fresh conn is zeroed except for its identity and the "none" fd, and
 * holds no request state. */
static void
check_fresh(const struct conn *c)
{
    assert_non_null(c);
    assert_true(c->in_use);
    assert_int_equal(c->fd, -1);
    assert_null(c->rq);
    assert_int_equal(c->state, 0);
    assert_int_equal(c->nreqs, 0);
    assert_int_equal(c->rbuf.cap, 0);
    assert_null(c->rbuf.data);
    assert_false(c->keepalive);
}

static void
test_conn_pool_get_distinct(void **state)
{
    struct conn *c[POOL_N];

    UNUSED(state);
    for (size_t i = 0; i < POOL_N; i++) {
        c[i] = conn_pool_get();
        check_fresh(c[i]);
        assert_int_equal(c[i]->slot, i);
        assert_ptr_equal(conn_pool_at(i), c[i]);
        for (size_t j = 0; j < i; j++)
            assert_ptr_not_equal(c[i], c[j]);
    }
}

static void
test_conn_pool_exhausted(void **state)
{
    struct conn *c[POOL_N];

    UNUSED(state);
    for (size_t i = 0; i < POOL_N; i++)
        assert_non_null(c[i] = conn_pool_get());
    assert_null(conn_pool_get());
    assert_null(conn_pool_get());
    assert_int_equal(conn_pool_in_use(), POOL_N);

    /* one back, one out again; then full again */
    conn_pool_put(c[3]);
    assert_ptr_equal(conn_pool_get(), c[3]);
    assert_null(conn_pool_get());
}

static void
test_conn_pool_reuse_bumps_generation(void **state)
{
    struct conn *a, *b;
    uint32_t slot, gen;

    UNUSED(state);
    a = conn_pool_get();
    assert_non_null(a);
    slot = a->slot;
    gen = a->gen;
    /* scribble, as a served conn would */
    a->fd = 42;
    a->nreqs = 7;
    a->state = CONN_KEEPALIVE;
    a->keepalive = true;

    conn_pool_put(a);
    assert_false(a->in_use);
    assert_true(a->gen != gen);

    b = conn_pool_get();
    assert_ptr_equal(b, a);                 /* same slot, reused */
    assert_int_equal(b->slot, slot);
    assert_true(b->gen > gen);
    check_fresh(b);                         /* no leftovers */
    assert_false(b->keepalive);

    /* generations keep rising over many reuses */
    for (int i = 0; i < 100; i++) {
        uint32_t g = b->gen;
        conn_pool_put(b);
        b = conn_pool_get();
        assert_ptr_equal(b, a);
        assert_true(b->gen > g);
    }
}

static void
test_conn_pool_deref(void **state)
{
    struct conn *a, *b;
    struct conn_ref ra, rb, stale;

    UNUSED(state);
    a = conn_pool_get();
    b = conn_pool_get();
    ra = conn_pool_ref(a);
    rb = conn_pool_ref(b);
    assert_int_equal(ra.slot, a->slot);
    assert_int_equal(ra.gen, a->gen);
    assert_ptr_equal(conn_pool_deref(ra), a);
    assert_ptr_equal(conn_pool_deref(rb), b);

    /* freed: the ref goes stale */
    conn_pool_put(a);
    assert_null(conn_pool_deref(ra));
    assert_ptr_equal(conn_pool_deref(rb), b);

    /* recycled for a new client: still stale; the new ref works */
    a = conn_pool_get();
    assert_int_equal(a->slot, ra.slot);
    assert_null(conn_pool_deref(ra));
    assert_ptr_equal(conn_pool_deref(conn_pool_ref(a)), a);

    /* a wrong generation either way, and slots never used or out of range */
    stale = conn_pool_ref(a);
    stale.gen++;
    assert_null(conn_pool_deref(stale));
    stale.gen -= 2;
    assert_null(conn_pool_deref(stale));
    stale.slot = 5;                 /* never handed out */
    stale.gen = 0;
    assert_null(conn_pool_deref(stale));
    stale.gen = 1;
    assert_null(conn_pool_deref(stale));
    stale.slot = POOL_N + 100;
    assert_null(conn_pool_deref(stale));
    stale.slot = UINT32_MAX;
    assert_null(conn_pool_deref(stale));
}

static void
test_conn_pool_in_use_counts(void **state)
{
    struct conn *c[POOL_N];

    UNUSED(state);
    assert_int_equal(conn_pool_in_use(), 0);
    for (size_t i = 0; i < POOL_N; i++) {
        c[i] = conn_pool_get();
        assert_int_equal(conn_pool_in_use(), i + 1);
    }
    conn_pool_put(c[0]);
    conn_pool_put(c[5]);
    assert_int_equal(conn_pool_in_use(), POOL_N - 2);
    conn_pool_get();
    assert_int_equal(conn_pool_in_use(), POOL_N - 1);
    for (size_t i = 0; i < POOL_N; i++) {
        if (c[i]->in_use)
            conn_pool_put(c[i]);
    }
    assert_int_equal(conn_pool_in_use(), 0);
}

/* Slots are touched only when needed: freed slots are reused before a new
 * one is taken, so conn_pool_high() is the peak of concurrent use. */
static void
test_conn_pool_lazy_high(void **state)
{
    struct conn *a, *b, *c;

    UNUSED(state);
    assert_int_equal(conn_pool_high(), 0);
    assert_null(conn_pool_at(0));

    a = conn_pool_get();
    assert_int_equal(conn_pool_high(), 1);
    assert_null(conn_pool_at(1));

    /* serial use never grows the pool */
    for (int i = 0; i < 50; i++) {
        conn_pool_put(a);
        a = conn_pool_get();
        assert_int_equal(a->slot, 0);
        assert_int_equal(conn_pool_high(), 1);
    }

    b = conn_pool_get();
    assert_int_equal(conn_pool_high(), 2);
    conn_pool_put(a);
    conn_pool_put(b);
    assert_int_equal(conn_pool_high(), 2);      /* high never shrinks */

    /* both freed slots come back before slot 2 is touched */
    a = conn_pool_get();
    b = conn_pool_get();
    assert_true(a->slot < 2 && b->slot < 2 && a != b);
    assert_int_equal(conn_pool_high(), 2);
    c = conn_pool_get();
    assert_int_equal(c->slot, 2);
    assert_int_equal(conn_pool_high(), 3);

    /* iteration over [0, high) sees exactly the conns in use */
    conn_pool_put(b);
    {
        size_t live = 0;
        for (size_t i = 0; i < conn_pool_high(); i++) {
            if (conn_pool_at(i)->in_use)
                live++;
        }
        assert_int_equal(live, conn_pool_in_use());
        assert_int_equal(live, 2);
    }
}

/* deinit + init starts from a clean pool. */
static void
test_conn_pool_reinit(void **state)
{
    struct conn *c;

    UNUSED(state);
    c = conn_pool_get();
    assert_non_null(c);
    conn_pool_deinit();
    assert_int_equal(conn_pool_in_use(), 0);
    assert_int_equal(conn_pool_high(), 0);
    assert_null(conn_pool_at(0));

    assert_int_equal(conn_pool_init(2), RC_OK);
    assert_non_null(conn_pool_get());
    assert_non_null(conn_pool_get());
    assert_null(conn_pool_get());
    assert_int_equal(conn_pool_in_use(), 2);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup_pool, teardown_pool)
        T(test_conn_pool_get_distinct),
        T(test_conn_pool_exhausted),
        T(test_conn_pool_reuse_bumps_generation),
        T(test_conn_pool_deref),
        T(test_conn_pool_in_use_counts),
        T(test_conn_pool_lazy_high),
        T(test_conn_pool_reinit),
#undef T
    };

    return cmocka_run_group_tests_name("conn_pool", tests, NULL, NULL);
}
