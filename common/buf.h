/* buf.h - growable byte buffer whose storage comes from an mpool.
 * Bytes live in data[rpos, wpos); free space is data[wpos, cap). A buffer
 * with cap == 0 holds no memory (idle connections keep theirs that way).
 * SPDX-License-Identifier: MIT */
#ifndef COMMON_BUF_H
#define COMMON_BUF_H

#include <stddef.h>

#include "mpool.h"

struct buf {
    char   *data;
    size_t  cap;
    size_t  rpos;
    size_t  wpos;
};

static inline void
buf_init(struct buf *b)
{
    b->data = NULL;
    b->cap = b->rpos = b->wpos = 0;
}

static inline size_t
buf_len(const struct buf *b)
{
    return b->wpos - b->rpos;
}

static inline size_t
buf_space(const struct buf *b)
{
    return b->cap - b->wpos;
}

/* Make room for at least N more bytes after wpos: compacts first, then moves
 * to a bigger class. Never shrinks. Returns RC_OK or RC_ERR (ENOMEM). */
int buf_reserve(mpool *p, struct buf *b, size_t n);

/* Move unread bytes to the front. */
void buf_compact(struct buf *b);

/* Append N bytes (reserving as needed). Returns RC_OK or RC_ERR. */
int buf_append(mpool *p, struct buf *b, const void *data, size_t n);

/* Give the storage back to the pool; the buffer becomes empty. */
void buf_release(mpool *p, struct buf *b);

#endif
