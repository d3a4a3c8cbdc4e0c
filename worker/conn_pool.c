/* conn_pool.c - preallocated conns with a free list (see conn_pool.h).
 * The free list is threaded through the slots' fd field; never-used slots
 * are handed out in order, so untouched pages stay untouched.
 * SPDX-License-Identifier: MIT */
#include "conn_pool.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "defs.h"
#include "log.h"

static struct {
    struct conn *slots;
    char        (*peers)[2][CONN_POOL_PEER_MAX];    /* per slot, beside
                                                     * it: peer, client */
    size_t       n;
    size_t       high;      /* slots [0, high) have been used at least once */
    size_t       in_use;
    long         free_head; /* -1: empty free list */
} P = { .free_head = -1 };

int
conn_pool_init(size_t n)
{
    /* mmap: pages are zero and not resident until first touched */
    void *mem = mmap(NULL, n * sizeof(struct conn), PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    void *peers = mmap(NULL, n * sizeof(*P.peers), PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (mem == MAP_FAILED || peers == MAP_FAILED) {
        log_msg(LOG_CRIT, "cannot reserve %zu connection slots", n);
        if (mem != MAP_FAILED)
            munmap(mem, n * sizeof(struct conn));
        if (peers != MAP_FAILED)
            munmap(peers, n * sizeof(*P.peers));
        return RC_ERR;
    }
    P.slots = mem;
    P.peers = peers;
    P.n = n;
    P.high = 0;
    P.in_use = 0;
    P.free_head = -1;
    return RC_OK;
}

void
conn_pool_deinit(void)
{
    if (P.slots != NULL)
        munmap(P.slots, P.n * sizeof(struct conn));
    if (P.peers != NULL)
        munmap(P.peers, P.n * sizeof(*P.peers));
    P.slots = NULL;
    P.peers = NULL;
    P.n = P.high = P.in_use = 0;
    P.free_head = -1;
}

struct conn *
conn_pool_get(void)
{
    struct conn *c;
    uint32_t gen;

    if (P.free_head >= 0) {
        c = &P.slots[P.free_head];
        P.free_head = c->fd;
    } else if (P.high < P.n) {
        c = &P.slots[P.high];
        c->slot = (uint32_t) P.high;
        P.high++;
    } else {
        return NULL;
    }
    gen = c->gen + 1;
    {
        uint32_t slot = c->slot;
        memset(c, 0, sizeof(*c));
        c->slot = slot;
    }
    c->gen = gen;
    c->in_use = true;       /* peer_known is false: P.peers is not touched */
    c->fd = -1;
    P.in_use++;
    return c;
}

void
conn_pool_put(struct conn *c)
{
    c->in_use = false;
    c->gen++;
    c->fd = (int) P.free_head;
    P.free_head = (long) c->slot;
    P.in_use--;
}

struct conn_ref
conn_pool_ref(const struct conn *c)
{
    struct conn_ref r = { c->slot, c->gen };
    return r;
}

struct conn *
conn_pool_deref(struct conn_ref r)
{
    struct conn *c;

    if (r.slot >= P.high)
        return NULL;
    c = &P.slots[r.slot];
    return (c->in_use && c->gen == r.gen) ? c : NULL;
}

char *
conn_pool_peer(const struct conn *c)
{
    return P.peers[c->slot][0];
}

char *
conn_pool_client(const struct conn *c)
{
    return P.peers[c->slot][1];
}

size_t
conn_pool_high(void)
{
    return P.high;
}

struct conn *
conn_pool_at(size_t i)
{
    return i < P.high ? &P.slots[i] : NULL;
}

size_t
conn_pool_in_use(void)
{
    return P.in_use;
}
