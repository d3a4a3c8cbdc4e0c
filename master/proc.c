/* proc.c - the master's table of worker processes (see proc.h).
 * Master only; O(n) scans, fine for the at most PROC_MAX workers. Slot i
 * of the table writes slot i of the metrics region (metrics.h).
 * SPDX-License-Identifier: MIT */
#include "proc.h"

#include <string.h>

#include "metrics.h"

struct worker_slot proc_table[PROC_MAX];
size_t proc_count;

struct worker_slot *
proc_alloc(void)
{
    for (size_t i = 0; i < PROC_MAX; i++) {
        struct worker_slot *w = &proc_table[i];
        if (!w->in_use) {
            memset(w, 0, sizeof(*w));
            w->in_use = true;
            w->chan_fd = -1;
            if (i >= proc_count)
                proc_count = i + 1;
            return w;
        }
    }
    return NULL;
}

struct worker_slot *
proc_find(pid_t pid)
{
    for (size_t i = 0; i < proc_count; i++) {
        if (proc_table[i].in_use && proc_table[i].pid == pid)
            return &proc_table[i];
    }
    return NULL;
}

size_t
proc_running(void)
{
    size_t n = 0;

    for (size_t i = 0; i < proc_count; i++) {
        if (proc_table[i].in_use && proc_table[i].pid != 0)
            n++;
    }
    return n;
}

void
proc_release(struct worker_slot *w)
{
    /* its counters go into the server's totals; the slot starts afresh */
    metrics_slot_release((size_t) (w - proc_table));
    memset(w, 0, sizeof(*w));
    w->chan_fd = -1;
    while (proc_count > 0 && !proc_table[proc_count - 1].in_use)
        proc_count--;
}
