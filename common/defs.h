/* defs.h - result codes and small helpers shared by every module.
 * Header only; plain C, no dependencies.
 * SPDX-License-Identifier: MIT */
#ifndef COMMON_DEFS_H
#define COMMON_DEFS_H

#include <stddef.h>

#define RC_OK     0
#define RC_ERR   -1
#define RC_AGAIN -2     /* would block, or needs more bytes */
#define RC_DONE  -3

#define UNUSED(x)     ((void) (x))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#if defined(__GNUC__)
#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define likely(x)   (x)
#define unlikely(x) (x)
#define PRINTF_LIKE(f, a)
#endif

#define WEBSERVER_NAME    "webserver"
#define WEBSERVER_VERSION "0.1.0"

#endif
