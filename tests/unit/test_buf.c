/* test_buf.c - buf.h: append, reserve, compact, release to the mpool.
 * SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "defs.h"
#include "mpool.h"

#define KIB ((size_t) 1024)
#define MIB (1024 * KIB)

/* ---- Helpers ---- */

struct fixture {
    mpool     *p;
    struct buf b;
};

static int
setup_buf(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return -1;
    f->p = mpool_create(0);
    if (f->p == NULL) {
        free(f);
        return -1;
    }
    buf_init(&f->b);
    *state = f;
    return 0;
}

static int
teardown_buf(void **state)
{
    struct fixture *f = *state;

    buf_release(f->p, &f->b);
    mpool_destroy(f->p);
    free(f);
    return 0;
}

static struct mpool_stats
stats(const mpool *p)
{
    struct mpool_stats st;

    mpool_get_stats(p, &st);
    return st;
}

/* Append N bytes of a pattern that starts at SEED. */
static void
append_pattern(struct fixture *f, size_t n, unsigned seed)
{
    char *tmp = malloc(n);

    assert_non_null(tmp);
    for (size_t i = 0; i < n; i++)
        tmp[i] = (char) (seed + i);
    assert_int_equal(buf_append(f->p, &f->b, tmp, n), RC_OK);
    free(tmp);
}

/* The unread bytes are the pattern from SEED, N of them. */
static void
check_pattern(const struct buf *b, size_t n, unsigned seed)
{
    assert_int_equal(buf_len(b), n);
    for (size_t i = 0; i < n; i++) {
        if (b->data[b->rpos + i] != (char) (seed + i))
            fail_msg("byte %zu is %d, want %d", i, b->data[b->rpos + i],
                     (char) (seed + i));
    }
}

/* ---- Tests ---- */

static void
test_buf_init_holds_nothing(void **state)
{
    struct fixture *f = *state;

    assert_null(f->b.data);
    assert_int_equal(f->b.cap, 0);
    assert_int_equal(buf_len(&f->b), 0);
    assert_int_equal(buf_space(&f->b), 0);
    assert_int_equal(stats(f->p).bytes_in_use, 0);
}

static void
test_buf_append(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(buf_append(f->p, &f->b, "hello", 5), RC_OK);
    assert_int_equal(f->b.cap, 4 * KIB);
    assert_int_equal(buf_len(&f->b), 5);
    assert_int_equal(buf_space(&f->b), 4 * KIB - 5);
    assert_int_equal(buf_append(f->p, &f->b, ", world", 7), RC_OK);
    assert_int_equal(buf_len(&f->b), 12);
    assert_memory_equal(f->b.data + f->b.rpos, "hello, world", 12);
    assert_int_equal(stats(f->p).cls[0].in_use, 1);
}

/* Reserving zero bytes on an empty buffer takes no memory. */
static void
test_buf_reserve_zero(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(buf_reserve(f->p, &f->b, 0), RC_OK);
    assert_int_equal(f->b.cap, 0);
    assert_int_equal(stats(f->p).bytes_in_use, 0);
}

/* A full 4K buffer grows to 16K keeping its content, and the 4K chunk goes
 * back to the pool. */
static void
test_buf_reserve_grows_to_next_class(void **state)
{
    struct fixture *f = *state;
    struct mpool_stats st;

    append_pattern(f, 4 * KIB, 7);
    assert_int_equal(f->b.cap, 4 * KIB);
    assert_int_equal(buf_space(&f->b), 0);

    assert_int_equal(buf_reserve(f->p, &f->b, 1), RC_OK);
    assert_int_equal(f->b.cap, 16 * KIB);
    assert_true(buf_space(&f->b) >= 1);
    check_pattern(&f->b, 4 * KIB, 7);
    st = stats(f->p);
    assert_int_equal(st.cls[0].in_use, 0);
    assert_int_equal(st.cls[0].free, 1);
    assert_int_equal(st.cls[1].in_use, 1);

    /* and on through the classes, past the largest one */
    assert_int_equal(buf_reserve(f->p, &f->b, 100 * KIB), RC_OK);
    assert_int_equal(f->b.cap, 256 * KIB);
    check_pattern(&f->b, 4 * KIB, 7);
    assert_int_equal(buf_reserve(f->p, &f->b, 5 * MIB), RC_OK);
    assert_int_equal(f->b.cap, 4 * KIB + 5 * MIB);
    check_pattern(&f->b, 4 * KIB, 7);
    st = stats(f->p);
    assert_int_equal(st.large_in_use, 4 * KIB + 5 * MIB);
    assert_int_equal(st.cls[1].in_use + st.cls[3].in_use, 0);
}

/* Enough room already: nothing moves. */
static void
test_buf_reserve_with_room_is_noop(void **state)
{
    struct fixture *f = *state;
    char *data;

    append_pattern(f, 100, 1);
    data = f->b.data;
    assert_int_equal(buf_reserve(f->p, &f->b, 4 * KIB - 100), RC_OK);
    assert_ptr_equal(f->b.data, data);
    assert_int_equal(f->b.cap, 4 * KIB);
    check_pattern(&f->b, 100, 1);
}

/* Room behind rpos is reused by compacting before growing. */
static void
test_buf_reserve_compacts_first(void **state)
{
    struct fixture *f = *state;
    char *data;

    append_pattern(f, 4 * KIB, 0);
    data = f->b.data;
    f->b.rpos = 4 * KIB - 96;           /* consumed all but 96 bytes */
    assert_int_equal(buf_reserve(f->p, &f->b, 1000), RC_OK);
    assert_ptr_equal(f->b.data, data);
    assert_int_equal(f->b.cap, 4 * KIB);
    assert_int_equal(f->b.rpos, 0);
    assert_int_equal(f->b.wpos, 96);
    check_pattern(&f->b, 96, 4 * KIB - 96);
    assert_int_equal(stats(f->p).cls[1].allocs, 0);
}

/* Growing drops the consumed prefix too. */
static void
test_buf_reserve_grow_drops_consumed(void **state)
{
    struct fixture *f = *state;

    append_pattern(f, 4 * KIB, 0);
    f->b.rpos = 10;
    assert_int_equal(buf_reserve(f->p, &f->b, 4 * KIB), RC_OK);
    assert_int_equal(f->b.cap, 16 * KIB);
    assert_int_equal(f->b.rpos, 0);
    check_pattern(&f->b, 4 * KIB - 10, 10);
    assert_true(buf_space(&f->b) >= 4 * KIB);
}

/* "Make room for at least N more bytes": RC_OK means the room is there.
 * len + n must not wrap around to a small size class. */
static void
test_buf_reserve_huge_does_not_wrap(void **state)
{
    struct fixture *f = *state;
    size_t n = SIZE_MAX - 5;
    int rc;

    append_pattern(f, 10, 0);
    rc = buf_reserve(f->p, &f->b, n);
    if (rc == RC_OK && buf_space(&f->b) < n)
        fail_msg("buf_reserve(%zu) returned RC_OK with %zu bytes of space",
                 n, buf_space(&f->b));
    assert_int_equal(rc, RC_ERR);
    check_pattern(&f->b, 10, 0);
}

static void
test_buf_compact(void **state)
{
    struct fixture *f = *state;
    size_t cap;

    assert_int_equal(buf_append(f->p, &f->b, "abcdefgh", 8), RC_OK);
    cap = f->b.cap;

    buf_compact(&f->b);                 /* rpos 0: nothing to do */
    assert_int_equal(f->b.rpos, 0);
    assert_int_equal(f->b.wpos, 8);

    f->b.rpos = 3;
    buf_compact(&f->b);
    assert_int_equal(f->b.rpos, 0);
    assert_int_equal(f->b.wpos, 5);
    assert_int_equal(f->b.cap, cap);
    assert_memory_equal(f->b.data, "defgh", 5);

    f->b.rpos = 5;                      /* everything consumed */
    buf_compact(&f->b);
    assert_int_equal(f->b.rpos, 0);
    assert_int_equal(f->b.wpos, 0);
    assert_int_equal(buf_space(&f->b), cap);
}

/* Release hands the chunk back: cap 0, and the pool shows it free. */
static void
test_buf_release(void **state)
{
    struct fixture *f = *state;
    struct mpool_stats st;

    append_pattern(f, 20 * KIB, 3);
    assert_int_equal(f->b.cap, 64 * KIB);
    assert_int_equal(stats(f->p).bytes_in_use, 64 * KIB);

    buf_release(f->p, &f->b);
    assert_null(f->b.data);
    assert_int_equal(f->b.cap, 0);
    assert_int_equal(buf_len(&f->b), 0);
    st = stats(f->p);
    assert_int_equal(st.bytes_in_use, 0);
    assert_int_equal(st.cls[2].in_use, 0);
    assert_int_equal(st.cls[2].free, 1);

    buf_release(f->p, &f->b);           /* releasing an empty buffer is fine */
    assert_int_equal(f->b.cap, 0);

    /* the buffer is usable again and gets the kept chunk back */
    append_pattern(f, 20 * KIB, 4);
    st = stats(f->p);
    assert_int_equal(st.cls[2].mallocs, 1);
    assert_int_equal(st.cls[2].allocs, 2);
    check_pattern(&f->b, 20 * KIB, 4);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup_buf, teardown_buf)
        T(test_buf_init_holds_nothing),
        T(test_buf_append),
        T(test_buf_reserve_zero),
        T(test_buf_reserve_grows_to_next_class),
        T(test_buf_reserve_with_room_is_noop),
        T(test_buf_reserve_compacts_first),
        T(test_buf_reserve_grow_drops_consumed),
        T(test_buf_reserve_huge_does_not_wrap),
        T(test_buf_compact),
        T(test_buf_release),
#undef T
    };

    return cmocka_run_group_tests_name("buf", tests, NULL, NULL);
}
