/* status.h - the handlers of GET /metrics (Prometheus text exposition
 * 0.0.4) and GET /status (an HTML page with a row per worker and a chart of
 * recent requests/s), both built from the shared counters of metrics.h, so
 * whichever worker answers speaks for the whole server. Only clients inside
 * status_allow get them (others 403); never cached. Worker only; a handler:
 * sees the request through txn.h alone.
 * SPDX-License-Identifier: MIT */
#ifndef WORKER_STATUS_H
#define WORKER_STATUS_H

struct txn;

/* GET/HEAD /metrics. Leaves T answered. */
void status_metrics(struct txn *t);

/* GET/HEAD /status. Leaves T answered. */
void status_page(struct txn *t);

/* Free the buffer the pages are built in (at exit). */
void status_free(void);

#endif
