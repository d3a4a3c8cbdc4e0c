/* minheap.h - index-tracking binary min-heap of intrusive nodes.
 * Each node records its own position, so erase and adjust are O(log n)
 * without a search. The heap stores pointers; nodes are owned by the caller
 * and must stay alive while they are in the heap. Single-threaded.
 * SPDX-License-Identifier: MIT */
#ifndef COMMON_MINHEAP_H
#define COMMON_MINHEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MINHEAP_NONE SIZE_MAX

struct minheap_node {
    uint64_t key;       /* smaller keys come out first */
    size_t   index;     /* position in the heap, MINHEAP_NONE when outside */
};

typedef struct minheap minheap;

/* Create an empty heap that grows as needed. Returns NULL on ENOMEM. */
minheap *minheap_create(size_t initial_capacity);
void minheap_destroy(minheap *h);      /* accepts NULL; nodes are untouched */

/* Mark a node as outside any heap; call once before its first push. */
static inline void
minheap_node_init(struct minheap_node *n)
{
    n->key = 0;
    n->index = MINHEAP_NONE;
}

static inline bool
minheap_node_queued(const struct minheap_node *n)
{
    return n->index != MINHEAP_NONE;
}

/* Insert N (not queued) with its current key. Returns RC_OK or RC_ERR (ENOMEM). */
int minheap_push(minheap *h, struct minheap_node *n);

/* The smallest node, or NULL when empty. */
struct minheap_node *minheap_top(const minheap *h);

/* Remove and return the smallest node, or NULL when empty. */
struct minheap_node *minheap_pop(minheap *h);

/* Remove N if it is queued; no-op otherwise. */
void minheap_erase(minheap *h, struct minheap_node *n);

/* Change the key of queued node N and restore the order. */
void minheap_adjust(minheap *h, struct minheap_node *n, uint64_t key);

size_t minheap_size(const minheap *h);

#endif
