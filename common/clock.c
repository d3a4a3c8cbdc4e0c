/* clock.c - cached monotonic clock.
 * SPDX-License-Identifier: MIT */
#include "clock.h"

uint64_t clock_now_cached;
uint64_t clock_now_us_cached;

uint64_t
clock_update(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    clock_now_us_cached = (uint64_t) ts.tv_sec * 1000000
                          + (uint64_t) ts.tv_nsec / 1000;
    clock_now_cached = clock_now_us_cached / 1000;
    return clock_now_cached;
}
