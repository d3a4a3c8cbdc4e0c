/* buf.c - growable byte buffer on an mpool (see buf.h).
 * SPDX-License-Identifier: MIT */
#include "buf.h"

#include <stdint.h>
#include <string.h>

#include "defs.h"

void
buf_compact(struct buf *b)
{
    size_t n = buf_len(b);

    if (b->rpos == 0)
        return;
    if (n > 0)
        memmove(b->data, b->data + b->rpos, n);
    b->rpos = 0;
    b->wpos = n;
}

int
buf_reserve(mpool *p, struct buf *b, size_t n)
{
    size_t len, want, cap;
    char *data;

    if (buf_space(b) >= n)
        return RC_OK;
    len = buf_len(b);
    if (b->cap - len >= n) {
        buf_compact(b);
        return RC_OK;
    }
    if (n > SIZE_MAX - len)
        return RC_ERR;
    want = len + n;
    cap = mpool_size_class(want);
    data = mpool_alloc(p, cap);
    if (data == NULL)
        return RC_ERR;
    if (len > 0)
        memcpy(data, b->data + b->rpos, len);
    mpool_free(p, b->data, b->cap);
    b->data = data;
    b->cap = cap;
    b->rpos = 0;
    b->wpos = len;
    return RC_OK;
}

int
buf_append(mpool *p, struct buf *b, const void *data, size_t n)
{
    if (buf_reserve(p, b, n) != RC_OK)
        return RC_ERR;
    memcpy(b->data + b->wpos, data, n);
    b->wpos += n;
    return RC_OK;
}

void
buf_release(mpool *p, struct buf *b)
{
    mpool_free(p, b->data, b->cap);
    buf_init(b);
}
