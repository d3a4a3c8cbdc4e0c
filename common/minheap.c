/* minheap.c - index-tracking binary min-heap (see minheap.h).
 * SPDX-License-Identifier: MIT */
#include "minheap.h"

#include <stdlib.h>

#include "defs.h"

struct minheap {
    struct minheap_node **a;
    size_t n, cap;
};

minheap *
minheap_create(size_t initial_capacity)
{
    minheap *h = calloc(1, sizeof(*h));

    if (h == NULL)
        return NULL;
    h->cap = initial_capacity > 0 ? initial_capacity : 16;
    h->a = malloc(h->cap * sizeof(h->a[0]));
    if (h->a == NULL) {
        free(h);
        return NULL;
    }
    return h;
}

void
minheap_destroy(minheap *h)
{
    if (h == NULL)
        return;
    free(h->a);
    free(h);
}

static inline void
minheap_place(minheap *h, size_t i, struct minheap_node *n)
{
    h->a[i] = n;
    n->index = i;
}

static void
minheap_sift_up(minheap *h, size_t i, struct minheap_node *n)
{
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (h->a[parent]->key <= n->key)
            break;
        minheap_place(h, i, h->a[parent]);
        i = parent;
    }
    minheap_place(h, i, n);
}

static void
minheap_sift_down(minheap *h, size_t i, struct minheap_node *n)
{
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= h->n)
            break;
        if (child + 1 < h->n && h->a[child + 1]->key < h->a[child]->key)
            child++;
        if (n->key <= h->a[child]->key)
            break;
        minheap_place(h, i, h->a[child]);
        i = child;
    }
    minheap_place(h, i, n);
}

int
minheap_push(minheap *h, struct minheap_node *n)
{
    if (n->index != MINHEAP_NONE)
        return RC_ERR;
    if (h->n == h->cap) {
        size_t cap = h->cap * 2;
        struct minheap_node **a = realloc(h->a, cap * sizeof(a[0]));
        if (a == NULL)
            return RC_ERR;
        h->a = a;
        h->cap = cap;
    }
    minheap_sift_up(h, h->n++, n);
    return RC_OK;
}

struct minheap_node *
minheap_top(const minheap *h)
{
    return h->n > 0 ? h->a[0] : NULL;
}

struct minheap_node *
minheap_pop(minheap *h)
{
    struct minheap_node *top;

    if (h->n == 0)
        return NULL;
    top = h->a[0];
    minheap_erase(h, top);
    return top;
}

void
minheap_erase(minheap *h, struct minheap_node *n)
{
    size_t i = n->index;
    struct minheap_node *last;

    if (i == MINHEAP_NONE || i >= h->n || h->a[i] != n)
        return;
    n->index = MINHEAP_NONE;
    last = h->a[--h->n];
    if (i == h->n)
        return;
    /* the last node fills the hole and moves whichever way it must */
    if (i > 0 && last->key < h->a[(i - 1) / 2]->key)
        minheap_sift_up(h, i, last);
    else
        minheap_sift_down(h, i, last);
}

void
minheap_adjust(minheap *h, struct minheap_node *n, uint64_t key)
{
    size_t i = n->index;
    uint64_t old = n->key;

    n->key = key;
    if (i == MINHEAP_NONE || i >= h->n || h->a[i] != n)
        return;
    if (key < old)
        minheap_sift_up(h, i, n);
    else if (key > old)
        minheap_sift_down(h, i, n);
}

size_t
minheap_size(const minheap *h)
{
    return h->n;
}
