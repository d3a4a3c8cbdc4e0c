/* worker_ctx.c - the worker's shared state (see worker_ctx.h), defined on
 * its own so that every layer can link against it without worker.c.
 * SPDX-License-Identifier: MIT */
#include "worker_ctx.h"

struct worker_ctx wctx;
