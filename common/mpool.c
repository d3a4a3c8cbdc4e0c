/* mpool.c - size-class allocator (see mpool.h).
 * Free chunks are chained through their first bytes, so a free list costs
 * no memory of its own.
 * SPDX-License-Identifier: MIT */
#include "mpool.h"

#include <stdlib.h>
#include <string.h>

#include "defs.h"

static const size_t mpool_sizes[MPOOL_NCLASSES] = {
    4096, 16384, 65536, 262144, 1048576, 4194304
};

struct mpool_chunk {
    struct mpool_chunk *next;
};

struct mpool {
    struct mpool_chunk      *free[MPOOL_NCLASSES];
    size_t                   max_free[MPOOL_NCLASSES];  /* chunks */
    struct mpool_class_stats st[MPOOL_NCLASSES];
    size_t                   large_in_use;
};

static int
mpool_class(size_t n)
{
    for (int i = 0; i < MPOOL_NCLASSES; i++) {
        if (n <= mpool_sizes[i])
            return i;
    }
    return -1;
}

size_t
mpool_size_class(size_t n)
{
    int c = mpool_class(n);

    return c < 0 ? n : mpool_sizes[c];
}

mpool *
mpool_create(size_t max_free_bytes)
{
    mpool *p = calloc(1, sizeof(*p));

    if (p == NULL)
        return NULL;
    if (max_free_bytes == 0)
        max_free_bytes = 4 * 1024 * 1024;
    for (int i = 0; i < MPOOL_NCLASSES; i++) {
        p->st[i].size = mpool_sizes[i];
        p->max_free[i] = max_free_bytes / mpool_sizes[i];
        if (p->max_free[i] == 0)
            p->max_free[i] = 1;
    }
    return p;
}

void
mpool_destroy(mpool *p)
{
    if (p == NULL)
        return;
    for (int i = 0; i < MPOOL_NCLASSES; i++) {
        struct mpool_chunk *c = p->free[i], *next;
        for (; c != NULL; c = next) {
            next = c->next;
            free(c);
        }
    }
    free(p);
}

void *
mpool_alloc(mpool *p, size_t n)
{
    int c;
    struct mpool_chunk *chunk;

    if (n == 0)
        return NULL;
    c = mpool_class(n);
    if (c < 0) {
        void *ptr = malloc(n);
        if (ptr != NULL)
            p->large_in_use += n;
        return ptr;
    }
    chunk = p->free[c];
    if (chunk != NULL) {
        p->free[c] = chunk->next;
        p->st[c].free--;
    } else {
        chunk = malloc(mpool_sizes[c]);
        if (chunk == NULL)
            return NULL;
        p->st[c].mallocs++;
    }
    p->st[c].allocs++;
    p->st[c].in_use++;
    return chunk;
}

void
mpool_free(mpool *p, void *ptr, size_t n)
{
    int c;
    struct mpool_chunk *chunk = ptr;

    if (ptr == NULL)
        return;
    c = mpool_class(n);
    if (c < 0) {
        p->large_in_use -= n;
        free(ptr);
        return;
    }
    p->st[c].in_use--;
    if (p->st[c].free >= p->max_free[c]) {
        free(ptr);
        return;
    }
    chunk->next = p->free[c];
    p->free[c] = chunk;
    p->st[c].free++;
}

void
mpool_get_stats(const mpool *p, struct mpool_stats *st)
{
    memset(st, 0, sizeof(*st));
    for (int i = 0; i < MPOOL_NCLASSES; i++) {
        st->cls[i] = p->st[i];
        st->bytes_in_use += p->st[i].in_use * mpool_sizes[i];
        st->bytes_free += p->st[i].free * mpool_sizes[i];
    }
    st->large_in_use = p->large_in_use;
    st->bytes_in_use += p->large_in_use;
}
