/* metrics.h - the server's counters, in one shared anonymous mapping that
 * the master makes before it forks the first worker.
 * One cache-line-aligned slot per worker slot of the master's table: a
 * worker writes only its own slot, with plain increments (one writer per
 * slot, so no atomics and no false sharing on the hot path); the master
 * writes the header (its own counters, the samples of the status chart)
 * and the description of each slot; any process reads everything.
 * A worker respawned after a crash goes on with its slot's counters. When a
 * slot is given up (its worker exited for good: a reload, a stop), the
 * master adds its counters to `folded` and clears it, so the totals never
 * go backwards; a reader sums `folded` and the slots inside a sequence
 * count (a seqlock: the master is the only writer of it) and tries again
 * when a fold happened meanwhile.
 * Counters the worker writes are read by other processes while they
 * change: a reader may see a slightly old value, never a torn one (aligned
 * 64-bit words). Plain C + POSIX.
 * SPDX-License-Identifier: MIT */
#ifndef COMMON_METRICS_H
#define COMMON_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* http_requests_total{code}: codes 100..599, one counter each */
#define METRICS_CODE_MIN    100
#define METRICS_CODES       500
/* http_request_duration_seconds: upper bounds in microseconds, then +Inf */
#define METRICS_BUCKETS     16
/* per-second samples of the request total (a little over 5 minutes) */
#define METRICS_SAMPLES     320

enum metrics_conn_state {       /* connections{state} */
    METRICS_CONN_READING = 0,   /* request head or body */
    METRICS_CONN_WRITING,       /* answering: processing, writing, closing */
    METRICS_CONN_IDLE,          /* keep-alive between requests */
    METRICS_CONN_WAITING,       /* waiting for Redis or password hashing */
    METRICS_CONN_GONE,          /* about to close; not exported */
    METRICS_CONN_NSTATES
};

enum metrics_redis_result {     /* redis_commands_total{result} */
    METRICS_REDIS_OK = 0,       /* a reply (not an error reply) */
    METRICS_REDIS_ERROR,        /* an error reply, or Redis unavailable */
    METRICS_REDIS_TIMEOUT,      /* no reply within redis_timeout */
    METRICS_REDIS_NRESULTS
};

enum metrics_tls_result {       /* tls_handshakes_total{result} */
    METRICS_TLS_OK = 0,         /* full handshake */
    METRICS_TLS_FAILED,
    METRICS_TLS_RESUMED,        /* a session ticket was taken */
    METRICS_TLS_NRESULTS
};

/* Upper bounds of the duration buckets, in microseconds (100 us .. 10 s). */
extern const uint64_t metrics_bucket_us[METRICS_BUCKETS];

/* What only grows; the same layout in every slot and in the folded sum. */
struct metrics_counters {
    uint64_t requests[METRICS_CODES];       /* by status - 100 */
    uint64_t bytes;                         /* response body bytes sent */
    uint64_t duration[METRICS_BUCKETS + 1]; /* per bucket, not cumulative;
                                             * the last one is +Inf */
    uint64_t duration_us;                   /* sum of the durations */
    uint64_t accepted;                      /* connections taken */
    uint64_t redis[METRICS_REDIS_NRESULTS];
    uint64_t tls[METRICS_TLS_NRESULTS];
};

/* One worker slot. The master fills in `info` (pid 0: no process now);
 * the worker writes `c`, `conns` and `redis_up`. */
struct metrics_slot {
    struct metrics_counters c;
    int64_t  conns[METRICS_CONN_NSTATES];   /* gauges */
    uint64_t redis_up;                      /* 0 / 1 */
    struct {
        int32_t  pid;
        int32_t  id;                        /* "[worker N]" */
        uint32_t generation;
        uint32_t draining;                  /* told to quit */
        int64_t  started;                   /* wall clock, s */
    } info __attribute__((aligned(64)));
} __attribute__((aligned(64)));

struct metrics_sample {
    uint64_t ms;                /* monotonic ms of the sample */
    uint64_t requests;          /* http_requests_total, all codes */
};

/* The whole mapping. Master-owned fields first, then the slots. */
struct metrics_region {
    uint64_t seq;               /* odd while the master folds a slot */
    uint64_t nslots;            /* slots in the mapping */
    uint64_t high;              /* slots [0, high) may be in use */
    uint64_t workers;           /* live worker processes */
    uint64_t worker_restarts;   /* respawned after an unexpected exit */
    uint64_t reloads_ok;
    uint64_t reloads_failed;
    int64_t  started;           /* wall clock of the master's start, s */
    uint64_t nsamples;          /* samples taken; the latest is at
                                 * (nsamples - 1) % METRICS_SAMPLES */
    struct metrics_sample samples[METRICS_SAMPLES];
    struct metrics_counters folded;
    struct metrics_slot slot[] __attribute__((aligned(64)));
};

/* The mapping (NULL before metrics_map()), inherited by every worker. */
extern struct metrics_region *metrics_region;

/* The slot this process writes: a worker's own slot after
 * metrics_attach(), else a private one (the master, in-process tests), so
 * that the hot path never tests for NULL. */
extern struct metrics_slot *metrics_self;

/* ---- Master ---- */

/* Map the region with NSLOTS slots (shared, anonymous) before the first
 * fork. Returns RC_OK or RC_ERR (logged). */
int metrics_map(size_t nslots);

/* Slot I now runs PID, worker ID of GENERATION. */
void metrics_slot_start(size_t i, pid_t pid, int id, unsigned generation);

/* Slot I's worker was told to drain (a reload, a stop). */
void metrics_slot_draining(size_t i);

/* Slot I's process exited: its gauges are cleared, its counters stay (a
 * respawn goes on with them). */
void metrics_slot_exited(size_t i);

/* Slot I is given up: its counters go into the folded totals and the slot
 * is cleared for the next worker that takes it. Only after its process
 * exited. */
void metrics_slot_release(size_t i);

/* A worker was respawned after an unexpected exit. */
void metrics_count_restart(void);

/* A reload (SIGHUP) ended: OK, a new generation took over; else it failed
 * and the running one stays. */
void metrics_count_reload(bool ok);

/* Take one sample of the request total for the status chart (NOW_MS:
 * monotonic ms). Once a second. */
void metrics_take_sample(uint64_t now_ms);

/* ---- Worker ---- */

/* In a new worker of slot I: write there from now on. Clears the slot's
 * gauges (a respawn starts with no connections); keeps its counters. */
void metrics_attach(size_t i);

/* Count one finished response. DURATION_US: from the first byte of the
 * request until the response was out. The hot path: plain increments. */
static inline void
metrics_count_request(int status, uint64_t bytes, uint64_t duration_us)
{
    struct metrics_slot *s = metrics_self;
    unsigned b = 0;

    if ((unsigned) (status - METRICS_CODE_MIN) >= METRICS_CODES)
        status = 500;   /* never happens: responses carry 1xx-5xx */
    s->c.requests[status - METRICS_CODE_MIN]++;
    s->c.bytes += bytes;
    /* most requests stop at the first bucket or two */
    while (b < METRICS_BUCKETS && duration_us > metrics_bucket_us[b])
        b++;
    s->c.duration[b]++;
    s->c.duration_us += duration_us;
}

/* ---- Readers (a worker answering /metrics or /status) ---- */

/* The server's counters: folded plus every slot, consistent with respect
 * to folds (should a fold never end, a master killed in the middle of one,
 * it takes what it reads after a bounded number of tries). Returns RC_OK,
 * or RC_ERR before metrics_map(). */
int metrics_totals(struct metrics_counters *out);

/* All requests in C (every code). */
uint64_t metrics_requests(const struct metrics_counters *c);

/* Read the 64-bit word at P that another process may be writing. */
static inline uint64_t
metrics_load(const uint64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline int64_t
metrics_load_signed(const int64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

#endif
