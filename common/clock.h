/* clock.h - monotonic millisecond clock, cached; refresh it with
 * clock_update() once per event-loop callback so every timer decision in one
 * turn sees the same "now". The same reading is kept in microseconds for
 * request durations (metrics), at no extra cost.
 * SPDX-License-Identifier: MIT */
#ifndef COMMON_CLOCK_H
#define COMMON_CLOCK_H

#include <stdint.h>
#include <time.h>

extern uint64_t clock_now_cached;
extern uint64_t clock_now_us_cached;

/* Read the monotonic clock into the cache and return it (ms). */
uint64_t clock_update(void);

/* The cached monotonic time in ms (as of the last clock_update()). */
static inline uint64_t
clock_now(void)
{
    return clock_now_cached;
}

/* The cached monotonic time in microseconds (the same reading). */
static inline uint64_t
clock_now_us(void)
{
    return clock_now_us_cached;
}

/* Wall-clock seconds, not cached (time(2) is a vDSO call). */
static inline time_t
clock_wall(void)
{
    return time(NULL);
}

#endif
