/* clock.h - monotonic millisecond clock, cached; refresh it with
 * clock_update() once per event-loop callback so every timer decision in one
 * turn sees the same "now".
 * SPDX-License-Identifier: MIT */
#ifndef COMMON_CLOCK_H
#define COMMON_CLOCK_H

#include <stdint.h>
#include <time.h>

extern uint64_t clock_now_cached;

/* Read the monotonic clock into the cache and return it (ms). */
uint64_t clock_update(void);

/* The cached monotonic time in ms (as of the last clock_update()). */
static inline uint64_t
clock_now(void)
{
    return clock_now_cached;
}

/* Wall-clock seconds, not cached (time(2) is a vDSO call). */
static inline time_t
clock_wall(void)
{
    return time(NULL);
}

#endif
