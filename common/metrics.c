/* metrics.c - the shared counter region (see metrics.h): mapping, the
 * master's bookkeeping of slots, folding, samples, and the readers' sum.
 * The master is the only writer of the header and of `folded`; a worker
 * the only writer of its slot's counters and gauges.
 * SPDX-License-Identifier: MIT */
#include "metrics.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "defs.h"
#include "log.h"

const uint64_t metrics_bucket_us[METRICS_BUCKETS] = {
    100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000,
    500000, 1000000, 2500000, 5000000, 10000000
};

/* Reads of the totals that may overlap a fold before one is taken as it is. */
#define METRICS_READ_TRIES 100000

struct metrics_region *metrics_region;

static struct metrics_slot metrics_private;
struct metrics_slot *metrics_self = &metrics_private;

/* ---- Master ---- */

int
metrics_map(size_t nslots)
{
    size_t len = sizeof(struct metrics_region)
                 + nslots * sizeof(struct metrics_slot);
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED) {
        log_errno(LOG_CRIT, errno, "cannot map %zu bytes for the metrics",
                  len);
        return RC_ERR;
    }
    /* fresh anonymous pages are zero; only slots in use get touched */
    metrics_region = p;
    metrics_region->nslots = nslots;
    metrics_region->started = (int64_t) time(NULL);
    return RC_OK;
}

/* Count of slots with a process; the master's own view. */
static void
metrics_count_workers(void)
{
    struct metrics_region *m = metrics_region;
    uint64_t n = 0;

    for (uint64_t i = 0; i < m->high; i++) {
        if (m->slot[i].info.pid != 0)
            n++;
    }
    __atomic_store_n(&m->workers, n, __ATOMIC_RELAXED);
}

void
metrics_slot_start(size_t i, pid_t pid, int id, unsigned generation)
{
    struct metrics_region *m = metrics_region;
    struct metrics_slot *s;

    if (m == NULL || i >= m->nslots)
        return;
    s = &m->slot[i];
    s->info.id = id;
    s->info.generation = generation;
    s->info.draining = 0;
    s->info.started = (int64_t) time(NULL);
    __atomic_store_n(&s->info.pid, (int32_t) pid, __ATOMIC_RELEASE);
    if (i >= m->high)
        __atomic_store_n(&m->high, (uint64_t) i + 1, __ATOMIC_RELEASE);
    metrics_count_workers();
}

void
metrics_slot_draining(size_t i)
{
    if (metrics_region != NULL && i < metrics_region->nslots)
        metrics_region->slot[i].info.draining = 1;
}

void
metrics_slot_exited(size_t i)
{
    struct metrics_slot *s;

    if (metrics_region == NULL || i >= metrics_region->nslots)
        return;
    s = &metrics_region->slot[i];
    __atomic_store_n(&s->info.pid, 0, __ATOMIC_RELEASE);
    memset(s->conns, 0, sizeof(s->conns));
    s->redis_up = 0;
    metrics_count_workers();
}

void
metrics_slot_release(size_t i)
{
    struct metrics_region *m = metrics_region;
    struct metrics_counters *f, *c;

    if (m == NULL || i >= m->nslots)
        return;
    f = &m->folded;
    c = &m->slot[i].c;
    /* readers that overlap this see an odd or changed seq and read again */
    __atomic_store_n(&m->seq, m->seq + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    for (size_t k = 0; k < METRICS_CODES; k++)
        f->requests[k] += c->requests[k];
    f->bytes += c->bytes;
    for (size_t k = 0; k <= METRICS_BUCKETS; k++)
        f->duration[k] += c->duration[k];
    f->duration_us += c->duration_us;
    f->accepted += c->accepted;
    for (size_t k = 0; k < METRICS_REDIS_NRESULTS; k++)
        f->redis[k] += c->redis[k];
    for (size_t k = 0; k < METRICS_TLS_NRESULTS; k++)
        f->tls[k] += c->tls[k];
    memset(&m->slot[i], 0, sizeof(m->slot[i]));
    __atomic_store_n(&m->seq, m->seq + 1, __ATOMIC_RELEASE);
    /* high stays: cleared slots add nothing, and the master's table
     * reuses the lowest free slot first */
    metrics_count_workers();
}

void
metrics_count_restart(void)
{
    if (metrics_region != NULL)
        __atomic_store_n(&metrics_region->worker_restarts,
                         metrics_region->worker_restarts + 1, __ATOMIC_RELAXED);
}

void
metrics_count_reload(bool ok)
{
    uint64_t *n;

    if (metrics_region == NULL)
        return;
    n = ok ? &metrics_region->reloads_ok : &metrics_region->reloads_failed;
    __atomic_store_n(n, *n + 1, __ATOMIC_RELAXED);
}

void
metrics_take_sample(uint64_t now_ms)
{
    struct metrics_region *m = metrics_region;
    struct metrics_counters *t;
    struct metrics_sample *s;
    uint64_t n = 0;

    if (m == NULL)
        return;
    /* the master folds, so nothing changes the fold under it here */
    n = metrics_requests(&m->folded);
    for (uint64_t i = 0; i < m->high; i++) {
        t = &m->slot[i].c;
        n += metrics_requests(t);
    }
    s = &m->samples[m->nsamples % METRICS_SAMPLES];
    s->ms = now_ms;
    s->requests = n;
    __atomic_store_n(&m->nsamples, m->nsamples + 1, __ATOMIC_RELEASE);
}

/* ---- Worker ---- */

void
metrics_attach(size_t i)
{
    if (metrics_region == NULL || i >= metrics_region->nslots)
        return;
    metrics_self = &metrics_region->slot[i];
    memset(metrics_self->conns, 0, sizeof(metrics_self->conns));
    metrics_self->redis_up = 0;
}

/* ---- Readers ---- */

uint64_t
metrics_requests(const struct metrics_counters *c)
{
    uint64_t n = 0;

    for (size_t k = 0; k < METRICS_CODES; k++)
        n += metrics_load(&c->requests[k]);
    return n;
}

/* OUT += C, reading words that may be changing. */
static void
metrics_add(struct metrics_counters *out, const struct metrics_counters *c)
{
    const uint64_t *src = (const uint64_t *) c;
    uint64_t *dst = (uint64_t *) out;

    /* the struct is nothing but uint64_t words */
    for (size_t k = 0; k < sizeof(*c) / sizeof(uint64_t); k++)
        dst[k] += metrics_load(&src[k]);
}

int
metrics_totals(struct metrics_counters *out)
{
    struct metrics_region *m = metrics_region;
    uint64_t seq, high;

    if (m == NULL)
        return RC_ERR;
    /* a fold takes the master a few microseconds; the bound is for a
     * master killed in the middle of one, which must not hang us */
    for (int tries = 0;; tries++) {
        seq = __atomic_load_n(&m->seq, __ATOMIC_ACQUIRE);
        if ((seq & 1) && tries < METRICS_READ_TRIES)
            continue;
        memset(out, 0, sizeof(*out));
        metrics_add(out, &m->folded);
        high = __atomic_load_n(&m->high, __ATOMIC_ACQUIRE);
        for (uint64_t i = 0; i < high && i < m->nslots; i++)
            metrics_add(out, &m->slot[i].c);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&m->seq, __ATOMIC_RELAXED) == seq
            || tries >= METRICS_READ_TRIES)
            return RC_OK;
    }
}
