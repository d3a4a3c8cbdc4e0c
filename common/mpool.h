/* mpool.h - per-process size-class allocator for connection buffers.
 * Classes are 4K, 16K, 64K, 256K, 1M and 4M; each keeps a free list of
 * returned chunks (up to a byte budget) so steady-state requests never reach
 * malloc. Larger requests go straight to malloc/free. Not thread-safe: one
 * pool per worker.
 * SPDX-License-Identifier: MIT */
#ifndef COMMON_MPOOL_H
#define COMMON_MPOOL_H

#include <stddef.h>
#include <stdint.h>

#define MPOOL_NCLASSES 6

typedef struct mpool mpool;

struct mpool_class_stats {
    size_t   size;          /* chunk size of this class */
    size_t   in_use;        /* chunks handed out now */
    size_t   free;          /* chunks kept on the free list */
    uint64_t allocs;        /* mpool_alloc() calls served by this class */
    uint64_t mallocs;       /* of those, how many needed malloc() */
};

struct mpool_stats {
    struct mpool_class_stats cls[MPOOL_NCLASSES];
    size_t   large_in_use;  /* bytes of oversize chunks handed out */
    size_t   bytes_in_use;  /* all chunks handed out, rounded to class */
    size_t   bytes_free;    /* all chunks kept on free lists */
};

/* Create a pool whose free lists hold at most MAX_FREE_BYTES per class
 * (0: a default of 4 MiB), but always room for one chunk, so a class
 * larger than the budget still recycles its last chunk. Returns NULL on
 * ENOMEM. */
mpool *mpool_create(size_t max_free_bytes);

/* Free every cached chunk and the pool; chunks still handed out must have
 * been returned first. Accepts NULL. */
void mpool_destroy(mpool *p);

/* The chunk size mpool_alloc(p, n) really hands out (n rounded up to its
 * class; n itself above the largest class). */
size_t mpool_size_class(size_t n);

/* A chunk of at least N bytes, owned by the caller until mpool_free().
 * Returns NULL on ENOMEM or N == 0. */
void *mpool_alloc(mpool *p, size_t n);

/* Return PTR, allocated with the same N (or its class size). Accepts NULL. */
void mpool_free(mpool *p, void *ptr, size_t n);

void mpool_get_stats(const mpool *p, struct mpool_stats *st);

#endif
