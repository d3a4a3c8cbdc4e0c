/* test_minheap.c - minheap.h: order, erase, adjust, indexes, random model.
 * SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "defs.h"
#include "minheap.h"

/* Node arrays in these tests are static: a node must outlive its heap, and
 * the fixture destroys the heap after the test function has returned. */

/* ---- Helpers ---- */

static void
nodes_init(struct minheap_node *n, size_t count, const uint64_t *keys)
{
    for (size_t i = 0; i < count; i++) {
        minheap_node_init(&n[i]);
        n[i].key = keys != NULL ? keys[i] : i;
    }
}

static void
push_all(minheap *h, struct minheap_node *n, size_t count)
{
    for (size_t i = 0; i < count; i++)
        assert_int_equal(minheap_push(h, &n[i]), RC_OK);
}

/* Check the heap through the nodes' own indexes: the queued nodes of N[]
 * occupy positions 0..size-1 exactly once, the top sits at 0, and every
 * node's key is >= its parent's. */
static void
check_heap(const minheap *h, const struct minheap_node *n, size_t count)
{
    size_t size = minheap_size(h), queued = 0;
    const struct minheap_node **pos = calloc(size + 1, sizeof(*pos));

    assert_non_null(pos);
    for (size_t i = 0; i < count; i++) {
        if (!minheap_node_queued(&n[i]))
            continue;
        queued++;
        if (n[i].index >= size)
            fail_msg("node %zu has index %zu, heap size %zu", i, n[i].index,
                     size);
        if (pos[n[i].index] != NULL)
            fail_msg("two nodes at index %zu", n[i].index);
        pos[n[i].index] = &n[i];
    }
    assert_int_equal(queued, size);
    if (size == 0) {
        assert_null(minheap_top(h));
    } else {
        assert_ptr_equal(minheap_top(h), pos[0]);
    }
    for (size_t i = 1; i < size; i++) {
        if (pos[(i - 1) / 2]->key > pos[i]->key)
            fail_msg("heap order broken at index %zu: parent %llu > %llu", i,
                     (unsigned long long) pos[(i - 1) / 2]->key,
                     (unsigned long long) pos[i]->key);
    }
    free(pos);
}

/* Pop everything; keys must come out equal to WANT[0..count). */
static void
pop_expect(minheap *h, const uint64_t *want, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        struct minheap_node *n = minheap_pop(h);
        assert_non_null(n);
        assert_int_equal(n->key, want[i]);
        assert_int_equal(n->index, MINHEAP_NONE);
        assert_false(minheap_node_queued(n));
    }
    assert_int_equal(minheap_size(h), 0);
    assert_null(minheap_pop(h));
}

static int
setup_heap(void **state)
{
    *state = minheap_create(4);
    return *state != NULL ? 0 : -1;
}

static int
teardown_heap(void **state)
{
    minheap_destroy(*state);
    return 0;
}

/* ---- Basic behaviour ---- */

static void
test_minheap_empty(void **state)
{
    minheap *h = *state;

    assert_int_equal(minheap_size(h), 0);
    assert_null(minheap_top(h));
    assert_null(minheap_pop(h));
    minheap_destroy(NULL);
}

static void
test_minheap_push_pop_order(void **state)
{
    static const uint64_t keys[] = { 50, 30, 80, 10, 90, 20, 70, 60, 40, 0,
                                     UINT64_MAX, 55 };
    static const uint64_t sorted[] = { 0, 10, 20, 30, 40, 50, 55, 60, 70, 80,
                                       90, UINT64_MAX };
    static struct minheap_node n[ARRAY_SIZE(keys)];
    minheap *h = *state;

    nodes_init(n, ARRAY_SIZE(n), keys);
    for (size_t i = 0; i < ARRAY_SIZE(n); i++) {
        assert_int_equal(minheap_push(h, &n[i]), RC_OK);
        assert_true(minheap_node_queued(&n[i]));
        assert_int_equal(minheap_size(h), i + 1);
        check_heap(h, n, ARRAY_SIZE(n));
    }
    pop_expect(h, sorted, ARRAY_SIZE(sorted));
}

static void
test_minheap_duplicate_keys(void **state)
{
    static const uint64_t keys[] = { 5, 5, 1, 5, 1, 9, 1, 5 };
    static const uint64_t sorted[] = { 1, 1, 1, 5, 5, 5, 5, 9 };
    static struct minheap_node n[ARRAY_SIZE(keys)];
    minheap *h = *state;

    nodes_init(n, ARRAY_SIZE(n), keys);
    push_all(h, n, ARRAY_SIZE(n));
    check_heap(h, n, ARRAY_SIZE(n));
    pop_expect(h, sorted, ARRAY_SIZE(sorted));
}

/* top() shows the minimum without removing it. */
static void
test_minheap_top(void **state)
{
    static const uint64_t keys[] = { 7, 3, 9 };
    static struct minheap_node n[3];
    minheap *h = *state;

    nodes_init(n, 3, keys);
    push_all(h, n, 3);
    assert_ptr_equal(minheap_top(h), &n[1]);
    assert_ptr_equal(minheap_top(h), &n[1]);
    assert_int_equal(minheap_size(h), 3);
    assert_int_equal(n[1].index, 0);
    assert_ptr_equal(minheap_pop(h), &n[1]);
    assert_ptr_equal(minheap_top(h), &n[0]);
}

/* A popped node can be pushed again. */
static void
test_minheap_pop_then_push_again(void **state)
{
    static struct minheap_node n[4];
    minheap *h = *state;
    struct minheap_node *x;

    nodes_init(n, 4, NULL);
    push_all(h, n, 4);
    x = minheap_pop(h);
    assert_ptr_equal(x, &n[0]);
    x->key = 100;
    assert_int_equal(minheap_push(h, x), RC_OK);
    check_heap(h, n, 4);
    assert_ptr_equal(minheap_top(h), &n[1]);
}

/* ---- Erase ---- */

/* Node keys are 10 * i; the cases pick the node to erase by its position. */
enum erase_at { ERASE_TOP, ERASE_MIDDLE, ERASE_LAST };

static void
erase_case(minheap *h, enum erase_at at)
{
    enum { N = 15 };
    static struct minheap_node n[N];
    struct minheap_node *victim = NULL;
    uint64_t want[N - 1];
    size_t k = 0, size;

    nodes_init(n, N, NULL);
    for (size_t i = 0; i < N; i++)
        n[i].key = 10 * (N - i);    /* pushed in reverse: lots of sifting */
    push_all(h, n, N);
    size = minheap_size(h);
    for (size_t i = 0; i < N; i++) {
        if ((at == ERASE_TOP && n[i].index == 0)
            || (at == ERASE_MIDDLE && n[i].index == size / 2)
            || (at == ERASE_LAST && n[i].index == size - 1))
            victim = &n[i];
    }
    assert_non_null(victim);
    minheap_erase(h, victim);
    assert_int_equal(victim->index, MINHEAP_NONE);
    assert_int_equal(minheap_size(h), N - 1);
    check_heap(h, n, N);

    for (uint64_t key = 10; key <= 10 * N; key += 10) {
        if (key != victim->key)
            want[k++] = key;
    }
    assert_int_equal(k, N - 1);
    pop_expect(h, want, k);
}

static void
test_minheap_erase_top(void **state)
{
    erase_case(*state, ERASE_TOP);
}

static void
test_minheap_erase_middle(void **state)
{
    erase_case(*state, ERASE_MIDDLE);
}

static void
test_minheap_erase_last(void **state)
{
    erase_case(*state, ERASE_LAST);
}

/* Erasing a hole whose replacement (the last node) is smaller than the
 * hole's parent must sift it up: the other branch of erase(). */
static void
test_minheap_erase_moves_last_up(void **state)
{
    /* pushed in heap order, so node i sits at index i:
     *   index: 0   1   2   3    4    5   6
     *   key:   0  100  1  101  102   2   3
     * erasing index 3 moves the last node (key 3) under 100: it must rise */
    static const uint64_t keys[] = { 0, 100, 1, 101, 102, 2, 3 };
    static const uint64_t sorted[] = { 0, 1, 2, 3, 100, 102 };
    static struct minheap_node n[7];
    minheap *h = *state;

    nodes_init(n, 7, keys);
    push_all(h, n, 7);
    for (size_t i = 0; i < 7; i++)     /* already a heap: no node moved */
        assert_int_equal(n[i].index, i);
    minheap_erase(h, &n[3]);
    check_heap(h, n, 7);
    assert_int_equal(n[6].index, 1);    /* rose above 100 */
    pop_expect(h, sorted, ARRAY_SIZE(sorted));
}

/* Erasing a node that is not queued, or twice, changes nothing. */
static void
test_minheap_erase_not_queued_is_noop(void **state)
{
    static struct minheap_node n[5], outsider;
    minheap *h = *state;
    struct minheap_node *popped;

    nodes_init(n, 5, NULL);
    push_all(h, n, 5);
    minheap_node_init(&outsider);
    minheap_erase(h, &outsider);
    assert_int_equal(outsider.index, MINHEAP_NONE);
    assert_int_equal(minheap_size(h), 5);

    minheap_erase(h, &n[2]);
    minheap_erase(h, &n[2]);
    assert_int_equal(minheap_size(h), 4);

    popped = minheap_pop(h);
    minheap_erase(h, popped);
    assert_int_equal(minheap_size(h), 3);
    check_heap(h, n, 5);
}

/* ---- Adjust ---- */

static void
test_minheap_adjust_up_and_down(void **state)
{
    enum { N = 10 };
    static struct minheap_node n[N];
    minheap *h = *state;

    nodes_init(n, N, NULL);
    for (size_t i = 0; i < N; i++)
        n[i].key = 10 + 10 * i;         /* 10..100 */
    push_all(h, n, N);

    minheap_adjust(h, &n[9], 5);        /* up: the largest becomes the top */
    check_heap(h, n, N);
    assert_ptr_equal(minheap_top(h), &n[9]);
    assert_int_equal(n[9].key, 5);

    minheap_adjust(h, &n[9], 1000);     /* down: the top becomes the largest */
    check_heap(h, n, N);
    assert_ptr_equal(minheap_top(h), &n[0]);

    minheap_adjust(h, &n[4], 55);       /* middle, down a little */
    check_heap(h, n, N);
    minheap_adjust(h, &n[4], 55);       /* unchanged key */
    check_heap(h, n, N);

    {
        static const uint64_t want[] = { 10, 20, 30, 40, 55, 60, 70, 80, 90,
                                         1000 };
        pop_expect(h, want, ARRAY_SIZE(want));
    }
}

/* ---- Destroy ---- */

/* minheap.h: "minheap_destroy ... accepts NULL; nodes are untouched". A
 * caller may therefore free its nodes before the heap, so destroy must not
 * write to them. */
static void
test_minheap_destroy_leaves_nodes_untouched(void **state)
{
    static struct minheap_node n[3];
    static struct minheap_node before[3];
    minheap *h = minheap_create(0);

    (void) state;
    assert_non_null(h);
    nodes_init(n, 3, NULL);
    push_all(h, n, 3);
    memcpy(before, n, sizeof(n));
    minheap_destroy(h);
    for (size_t i = 0; i < 3; i++) {
        if (n[i].index != before[i].index || n[i].key != before[i].key)
            fail_msg("node %zu changed by minheap_destroy: index %zu -> %zu",
                     i, before[i].index, n[i].index);
    }
}

/* ---- Growth ---- */

static void
test_minheap_grows(void **state)
{
    enum { N = 1000 };
    static struct minheap_node n[N];
    size_t caps[] = { 0, 1, 2 };

    (void) state;
    for (size_t c = 0; c < ARRAY_SIZE(caps); c++) {
        minheap *h = minheap_create(caps[c]);
        assert_non_null(h);
        nodes_init(n, N, NULL);
        for (size_t i = 0; i < N; i++)
            n[i].key = (i * 7919) % N;  /* a permutation of 0..N-1 */
        push_all(h, n, N);
        assert_int_equal(minheap_size(h), N);
        check_heap(h, n, N);
        for (uint64_t k = 0; k < N; k++) {
            struct minheap_node *x = minheap_pop(h);
            assert_non_null(x);
            assert_int_equal(x->key, k);
        }
        assert_null(minheap_pop(h));
        minheap_destroy(h);
    }
}

/* ---- Randomized, against a linear-scan model ---- */

/* xorshift64: the same sequence on every libc. */
static uint64_t
rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

enum { R_NODES = 500, R_OPS = 20000, R_KEYS = 1000 };

struct model {
    struct minheap_node n[R_NODES];
    bool                in[R_NODES];    /* what the heap should hold */
    size_t              size;
};

/* The smallest key among nodes in the model, or UINT64_MAX when empty. */
static uint64_t
model_min(const struct model *m)
{
    uint64_t min = UINT64_MAX;

    for (size_t i = 0; i < R_NODES; i++) {
        if (m->in[i] && m->n[i].key < min)
            min = m->n[i].key;
    }
    return min;
}

static void
model_check(const minheap *h, const struct model *m, int op)
{
    struct minheap_node *top = minheap_top(h);

    if (minheap_size(h) != m->size)
        fail_msg("op %d: size %zu, model %zu", op, minheap_size(h), m->size);
    for (size_t i = 0; i < R_NODES; i++) {
        if (minheap_node_queued(&m->n[i]) != m->in[i])
            fail_msg("op %d: node %zu queued=%d, model %d", op, i,
                     minheap_node_queued(&m->n[i]), m->in[i]);
    }
    if (m->size == 0) {
        assert_null(top);
    } else if (top == NULL || top->key != model_min(m)) {
        fail_msg("op %d: top key %llu, model min %llu", op,
                 top != NULL ? (unsigned long long) top->key : 0ULL,
                 (unsigned long long) model_min(m));
    }
    check_heap(h, m->n, R_NODES);
}

static void
test_minheap_randomized_against_model(void **state)
{
    static struct model m;
    minheap *h = *state;
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    int counts[4] = { 0 };
    size_t max_size = 0;

    memset(&m, 0, sizeof(m));
    nodes_init(m.n, R_NODES, NULL);
    for (int op = 0; op < R_OPS; op++) {
        size_t i = rnd(&seed) % R_NODES;
        uint64_t key = rnd(&seed) % R_KEYS;
        /* 40% push, 20% pop, 15% erase, 25% adjust: about a third of the
         * nodes stay queued, so the heap is deep and adjust finds nodes */
        int r = (int) (rnd(&seed) % 20);
        int kind = r < 8 ? 0 : r < 12 ? 1 : r < 15 ? 2 : 3;

        switch (kind) {
        case 0:                                 /* push */
            if (m.in[i])
                break;
            m.n[i].key = key;
            assert_int_equal(minheap_push(h, &m.n[i]), RC_OK);
            m.in[i] = true;
            m.size++;
            counts[kind]++;
            break;
        case 1: {                               /* pop */
            uint64_t min = model_min(&m);
            struct minheap_node *x = minheap_pop(h);
            if (m.size == 0) {
                assert_null(x);
                break;
            }
            assert_non_null(x);
            if (x->key != min)
                fail_msg("op %d: popped %llu, model min %llu", op,
                         (unsigned long long) x->key,
                         (unsigned long long) min);
            assert_int_equal(x->index, MINHEAP_NONE);
            m.in[x - m.n] = false;
            m.size--;
            counts[kind]++;
            break;
        }
        case 2:                                 /* erase, queued or not */
            minheap_erase(h, &m.n[i]);
            assert_int_equal(m.n[i].index, MINHEAP_NONE);
            if (m.in[i]) {
                m.in[i] = false;
                m.size--;
            }
            counts[kind]++;
            break;
        case 3:                                 /* adjust a queued node */
            if (!m.in[i])
                break;
            minheap_adjust(h, &m.n[i], key);
            assert_int_equal(m.n[i].key, key);
            counts[kind]++;
            break;
        }
        model_check(h, &m, op);
        if (m.size > max_size)
            max_size = m.size;
    }
    /* every kind of operation really ran, and the heap got large */
    for (int k = 0; k < 4; k++)
        assert_true(counts[k] > R_OPS / 20);
    assert_true(max_size > R_NODES / 4);
    while (m.size > 0) {
        uint64_t min = model_min(&m);
        struct minheap_node *x = minheap_pop(h);
        assert_non_null(x);
        assert_int_equal(x->key, min);
        m.in[x - m.n] = false;
        m.size--;
    }
    assert_null(minheap_pop(h));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup_heap, teardown_heap)
        T(test_minheap_empty),
        T(test_minheap_push_pop_order),
        T(test_minheap_duplicate_keys),
        T(test_minheap_top),
        T(test_minheap_pop_then_push_again),
        T(test_minheap_erase_top),
        T(test_minheap_erase_middle),
        T(test_minheap_erase_last),
        T(test_minheap_erase_moves_last_up),
        T(test_minheap_erase_not_queued_is_noop),
        T(test_minheap_adjust_up_and_down),
        T(test_minheap_destroy_leaves_nodes_untouched),
        T(test_minheap_grows),
        T(test_minheap_randomized_against_model),
#undef T
    };

    return cmocka_run_group_tests_name("minheap", tests, NULL, NULL);
}
