/* worker.h - the worker process entry point. The master calls only
 * worker_main(), right after fork().
 * SPDX-License-Identifier: MIT */
#ifndef WORKER_WORKER_H
#define WORKER_WORKER_H

#include "config.h"

/* Run a worker: receive connections on CHAN_FD (owned from now on) and
 * serve them with the settings in CFG until told to quit or the channel
 * reaches EOF. ID tags the log. Returns the process exit code: 0 after a
 * clean stop, 2 when the worker cannot work at all (the master does not
 * respawn it). */
int worker_main(const struct config *cfg, int chan_fd, int id);

/* Wire the worker's layers: hand the router to the connection layer and
 * hook the worker's count of closed connections. worker_main() calls it
 * first; in-process tests that drive conn_open() call it in their set-up. */
void worker_wire(void);

#endif
