/* dispatch_pick.c - the pure least-loaded choice (see dispatch.h); kept apart
 * from the accept loop so unit tests link it without libevent.
 * SPDX-License-Identifier: MIT */
#include "dispatch.h"

int
dispatch_pick(const struct worker_slot *w, size_t n, size_t *cursor)
{
    int best = -1;
    size_t start;

    if (n == 0)
        return -1;
    start = *cursor % n;
    for (size_t k = 0; k < n; k++) {
        size_t i = (start + k) % n;
        const struct worker_slot *s = &w[i];
        if (s->pid == 0 || !s->alive || !s->ready || s->draining || s->chan_full
            || s->active >= s->max_conns)
            continue;
        if (best < 0 || s->active < w[best].active)
            best = (int) i;
    }
    if (best >= 0)
        *cursor = (size_t) best + 1;
    return best;
}
