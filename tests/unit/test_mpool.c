/* test_mpool.c - mpool.h: size classes, reuse, stats, free-list budget.
 * SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "defs.h"
#include "mpool.h"

#define KIB ((size_t) 1024)
#define MIB (1024 * KIB)

static const size_t class_sizes[MPOOL_NCLASSES] = {
    4 * KIB, 16 * KIB, 64 * KIB, 256 * KIB, 1 * MIB, 4 * MIB
};

/* ---- Helpers ---- */

static struct mpool_stats
stats(const mpool *p)
{
    struct mpool_stats st;

    mpool_get_stats(p, &st);
    return st;
}

static int
setup_pool(void **state)
{
    *state = mpool_create(0);
    return *state != NULL ? 0 : -1;
}

static int
teardown_pool(void **state)
{
    mpool_destroy(*state);
    return 0;
}

/* ---- Size classes ---- */

struct class_case {
    int    line;
    size_t n;
    size_t size;    /* what mpool_size_class(n) hands out */
    int    cls;     /* stats class, -1 for oversize */
};

static const struct class_case class_cases[] = {
    { __LINE__, 1, 4 * KIB, 0 },
    { __LINE__, 100, 4 * KIB, 0 },
    { __LINE__, 4 * KIB, 4 * KIB, 0 },
    { __LINE__, 4 * KIB + 1, 16 * KIB, 1 },
    { __LINE__, 16 * KIB, 16 * KIB, 1 },
    { __LINE__, 16 * KIB + 1, 64 * KIB, 2 },
    { __LINE__, 64 * KIB, 64 * KIB, 2 },
    { __LINE__, 64 * KIB + 1, 256 * KIB, 3 },
    { __LINE__, 256 * KIB, 256 * KIB, 3 },
    { __LINE__, 256 * KIB + 1, 1 * MIB, 4 },
    { __LINE__, 1 * MIB, 1 * MIB, 4 },
    { __LINE__, 1 * MIB + 1, 4 * MIB, 5 },
    { __LINE__, 4 * MIB, 4 * MIB, 5 },
    { __LINE__, 4 * MIB + 1, 4 * MIB + 1, -1 },
    { __LINE__, 10 * MIB + 3, 10 * MIB + 3, -1 },
};

static void
test_mpool_class_sizes_in_stats(void **state)
{
    struct mpool_stats st = stats(*state);

    for (int i = 0; i < MPOOL_NCLASSES; i++)
        assert_int_equal(st.cls[i].size, class_sizes[i]);
}

static void
test_mpool_size_class(void **state)
{
    (void) state;
    for (size_t i = 0; i < ARRAY_SIZE(class_cases); i++) {
        const struct class_case *c = &class_cases[i];
        if (mpool_size_class(c->n) != c->size)
            fail_msg("case at line %d: mpool_size_class(%zu) = %zu, want %zu",
                     c->line, c->n, mpool_size_class(c->n), c->size);
    }
}

/* Each allocation is counted in its class (or as oversize bytes), and the
 * whole class size is usable (ASan builds check the writes). */
static void
test_mpool_alloc_lands_in_class(void **state)
{
    (void) state;
    for (size_t i = 0; i < ARRAY_SIZE(class_cases); i++) {
        const struct class_case *c = &class_cases[i];
        mpool *p = mpool_create(0);
        struct mpool_stats st;
        char *ptr;

        assert_non_null(p);
        ptr = mpool_alloc(p, c->n);
        if (ptr == NULL)
            fail_msg("case at line %d: alloc(%zu) failed", c->line, c->n);
        memset(ptr, 0x5a, c->size);
        st = stats(p);
        for (int k = 0; k < MPOOL_NCLASSES; k++) {
            bool mine = k == c->cls;
            if (st.cls[k].in_use != (size_t) mine
                || st.cls[k].allocs != (uint64_t) mine
                || st.cls[k].mallocs != (uint64_t) mine)
                fail_msg("case at line %d: class %d in_use %zu allocs %llu",
                         c->line, k, st.cls[k].in_use,
                         (unsigned long long) st.cls[k].allocs);
        }
        if (st.large_in_use != (c->cls < 0 ? c->n : 0))
            fail_msg("case at line %d: large_in_use %zu", c->line,
                     st.large_in_use);
        if (st.bytes_in_use != c->size)
            fail_msg("case at line %d: bytes_in_use %zu, want %zu", c->line,
                     st.bytes_in_use, c->size);
        mpool_free(p, ptr, c->n);
        st = stats(p);
        assert_int_equal(st.bytes_in_use, 0);
        assert_int_equal(st.large_in_use, 0);
        assert_int_equal(st.bytes_free, c->cls < 0 ? 0 : c->size);
        mpool_destroy(p);
    }
}

/* ---- Reuse ---- */

static void
test_mpool_reuses_freed_chunk(void **state)
{
    mpool *p = *state;
    struct mpool_stats st;
    void *a, *b, *c;

    a = mpool_alloc(p, 100);
    assert_non_null(a);
    mpool_free(p, a, 100);
    b = mpool_alloc(p, 4000);           /* same class, different n */
    assert_ptr_equal(b, a);
    mpool_free(p, b, 4 * KIB);          /* freed with its class size */
    c = mpool_alloc(p, 4 * KIB);
    assert_ptr_equal(c, a);

    st = stats(p);
    assert_int_equal(st.cls[0].allocs, 3);
    assert_int_equal(st.cls[0].mallocs, 1);
    assert_int_equal(st.cls[0].in_use, 1);
    assert_int_equal(st.cls[0].free, 0);
    mpool_free(p, c, 4 * KIB);
}

/* Freed chunks of one class are not handed out for another. */
static void
test_mpool_classes_do_not_mix(void **state)
{
    mpool *p = *state;
    struct mpool_stats st;
    void *small, *big;

    small = mpool_alloc(p, 10);
    mpool_free(p, small, 10);
    big = mpool_alloc(p, 5000);
    assert_non_null(big);
    assert_ptr_not_equal(big, small);
    st = stats(p);
    assert_int_equal(st.cls[0].free, 1);
    assert_int_equal(st.cls[1].mallocs, 1);
    mpool_free(p, big, 5000);
}

/* ---- Statistics ---- */

static void
test_mpool_stats(void **state)
{
    mpool *p = *state;
    struct mpool_stats st;
    void *a = mpool_alloc(p, 1000);
    void *b = mpool_alloc(p, 2000);
    void *c = mpool_alloc(p, 60000);
    void *d = mpool_alloc(p, 5 * MIB);

    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_non_null(d);
    st = stats(p);
    assert_int_equal(st.cls[0].in_use, 2);
    assert_int_equal(st.cls[2].in_use, 1);
    assert_int_equal(st.large_in_use, 5 * MIB);
    assert_int_equal(st.bytes_in_use, 2 * 4 * KIB + 64 * KIB + 5 * MIB);
    assert_int_equal(st.bytes_free, 0);

    mpool_free(p, a, 1000);
    mpool_free(p, d, 5 * MIB);
    st = stats(p);
    assert_int_equal(st.cls[0].in_use, 1);
    assert_int_equal(st.cls[0].free, 1);
    assert_int_equal(st.large_in_use, 0);
    assert_int_equal(st.bytes_in_use, 4 * KIB + 64 * KIB);
    assert_int_equal(st.bytes_free, 4 * KIB);   /* oversize is never kept */

    mpool_free(p, b, 2000);
    mpool_free(p, c, 60000);
    st = stats(p);
    assert_int_equal(st.bytes_in_use, 0);
    assert_int_equal(st.bytes_free, 2 * 4 * KIB + 64 * KIB);
    assert_int_equal(st.cls[0].allocs, 2);
    assert_int_equal(st.cls[2].allocs, 1);
}

/* ---- Free-list budget ---- */

/* Chunks kept on all free lists. */
static size_t
free_chunks(const mpool *p)
{
    struct mpool_stats st = stats(p);
    size_t n = 0;

    for (int i = 0; i < MPOOL_NCLASSES; i++)
        n += st.cls[i].free;
    return n;
}

/* Alloc COUNT chunks of SIZE, free them all, return how many were kept. */
static size_t
churn(mpool *p, size_t size, size_t count)
{
    void *ptrs[64];

    assert_true(count <= ARRAY_SIZE(ptrs));
    for (size_t i = 0; i < count; i++) {
        ptrs[i] = mpool_alloc(p, size);
        assert_non_null(ptrs[i]);
    }
    for (size_t i = 0; i < count; i++)
        mpool_free(p, ptrs[i], size);
    return free_chunks(p);
}

static void
test_mpool_budget_caps_free_list(void **state)
{
    mpool *p = mpool_create(3 * 4 * KIB);
    struct mpool_stats st;

    (void) state;
    assert_non_null(p);
    assert_int_equal(churn(p, 4 * KIB, 10), 3);
    st = stats(p);
    assert_int_equal(st.cls[0].free, 3);
    assert_int_equal(st.bytes_free, 3 * 4 * KIB);
    assert_int_equal(st.cls[0].in_use, 0);

    /* the kept chunks serve the next round without malloc */
    assert_int_equal(churn(p, 4 * KIB, 3), 3);
    assert_int_equal(stats(p).cls[0].mallocs, 10);
    mpool_destroy(p);
}

/* The default budget (0) is 4 MiB per class: one 4 MiB chunk, 64 of 64 KiB. */
static void
test_mpool_default_budget(void **state)
{
    mpool *p = *state;

    assert_int_equal(churn(p, 4 * MIB, 3), 1);
    assert_int_equal(stats(p).cls[5].free, 1);
    assert_int_equal(churn(p, 64 * KIB, 64), 1 + 64);
    assert_int_equal(stats(p).bytes_free, 4 * MIB + 64 * 64 * KIB);
}

/* ---- NULL and 0 ---- */

static void
test_mpool_null_and_zero(void **state)
{
    mpool *p = *state;
    struct mpool_stats before = stats(p), after;

    assert_null(mpool_alloc(p, 0));
    mpool_free(p, NULL, 100);
    mpool_free(p, NULL, 0);
    mpool_free(p, NULL, 10 * MIB);
    after = stats(p);
    assert_memory_equal(&before, &after, sizeof(before));
    mpool_destroy(NULL);
}

/* Destroy with chunks on the free lists (leak checkers see the rest). */
static void
test_mpool_destroy_with_cached_chunks(void **state)
{
    mpool *p = mpool_create(0);

    (void) state;
    assert_non_null(p);
    assert_int_equal(churn(p, 16 * KIB, 4), 4);
    mpool_destroy(p);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup_pool, teardown_pool)
        T(test_mpool_class_sizes_in_stats),
        T(test_mpool_size_class),
        T(test_mpool_alloc_lands_in_class),
        T(test_mpool_reuses_freed_chunk),
        T(test_mpool_classes_do_not_mix),
        T(test_mpool_stats),
        T(test_mpool_budget_caps_free_list),
        T(test_mpool_default_budget),
        T(test_mpool_null_and_zero),
        T(test_mpool_destroy_with_cached_chunks),
#undef T
    };

    return cmocka_run_group_tests_name("mpool", tests, NULL, NULL);
}
