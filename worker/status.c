/* status.c - GET /metrics and GET /status (see status.h). Worker only;
 * single-threaded. Both read the shared region of metrics.h: the totals
 * (folded slots plus live ones, read consistently with metrics_totals()),
 * the master's counters, each live slot's gauges, and the master's ring of
 * per-second request totals for the chart. Nothing here runs per request
 * of other routes: the cost of the counters is paid in conn.c's plain
 * increments, the cost of a scrape only by the scrape.
 * The page is built in one buffer that grows as needed and is kept for the
 * next scrape (a few KiB; one worker answers one request at a time).
 * SPDX-License-Identifier: MIT */
#include "status.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "defs.h"
#include "http_response.h"
#include "log.h"
#include "metrics.h"
#include "net.h"
#include "txn.h"
#include "worker_ctx.h"

#define STATUS_REFRESH_S    5       /* the page reloads itself this often */
#define STATUS_CHART_S      300     /* the chart spans the last 5 minutes */
#define STATUS_OUT_MIN      8192
#define STATUS_WORKERS_MAX  512     /* the master's table has no more */

/* Strict: the page has no script and no inline style; only the site's own
 * stylesheet. Meta refresh is no fetch, so CSP does not affect it. */
#define STATUS_CSP \
    "Content-Security-Policy: default-src 'none'; style-src 'self'; " \
    "img-src 'self'; base-uri 'none'; form-action 'none'; " \
    "frame-ancestors 'none'\r\n"

/* The page being built. */
static struct {
    char   *p;
    size_t  len;
    size_t  cap;
    bool    oom;
} out;

/* Append printf-style text to `out`; on failure `out.oom` says so and the
 * rest is dropped. */
static void __attribute__((format(printf, 1, 2)))
out_printf(const char *fmt, ...)
{
    va_list ap;
    int n;

    for (;;) {
        size_t room = out.cap - out.len;

        if (out.oom)
            return;
        va_start(ap, fmt);
        n = vsnprintf(out.p != NULL ? out.p + out.len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            out.oom = true;
            return;
        }
        if ((size_t) n < room) {
            out.len += (size_t) n;
            return;
        }
        {
            size_t cap = out.cap < STATUS_OUT_MIN ? STATUS_OUT_MIN : out.cap;
            char *p;
            while (cap - out.len <= (size_t) n)
                cap *= 2;
            p = realloc(out.p, cap);
            if (p == NULL) {
                log_msg(LOG_ERR, "out of memory for the status page");
                out.oom = true;
                return;
            }
            out.p = p;
            out.cap = cap;
        }
    }
}

static void
out_reset(void)
{
    out.len = 0;
    out.oom = false;
}

void
status_free(void)
{
    free(out.p);
    memset(&out, 0, sizeof(out));
}

/* ---- Access ---- */

/* Is T's client allowed (status_allow)? Answers 403 when not. */
static bool
status_allowed(struct txn *t)
{
    if (net_cidr_match(wctx.cfg.status_allow.v, wctx.cfg.status_allow.n,
                       txn_client_addr(t)))
        return true;
    txn_respond_error(t, 403, "Cache-Control: no-store\r\n");
    return false;
}

/* The region is there in every worker the master forked; in-process tests
 * have none: 503 then. */
static bool
status_available(struct txn *t)
{
    if (metrics_region != NULL)
        return true;
    txn_respond_error(t, 503, "Cache-Control: no-store\r\n");
    return false;
}

static void
status_send(struct txn *t, const char *type, const char *extra)
{
    struct http_head h;

    if (out.oom) {
        txn_respond_error(t, 500, "Cache-Control: no-store\r\n");
        return;
    }
    memset(&h, 0, sizeof(h));
    h.status = 200;
    h.content_type = type;
    h.cache_control = "no-store";
    h.extra = extra;
    txn_respond_body(t, &h, out.p, out.len);
}

/* ---- Live slots ---- */

/* What the page and the exposition show of one live worker. */
struct status_worker {
    const struct metrics_slot *s;
    int      pid;
    int      id;
    unsigned generation;
    bool     draining;
    int64_t  conns[METRICS_CONN_NSTATES];
    bool     redis_up;
};

/* Fill W[0..max) with the slots that have a process now, by slot order.
 * Returns how many. */
static size_t
status_workers(struct status_worker *w, size_t max)
{
    const struct metrics_region *m = metrics_region;
    uint64_t high = __atomic_load_n(&m->high, __ATOMIC_ACQUIRE);
    size_t n = 0;

    for (uint64_t i = 0; i < high && i < m->nslots && n < max; i++) {
        const struct metrics_slot *s = &m->slot[i];
        int pid = __atomic_load_n(&s->info.pid, __ATOMIC_ACQUIRE);

        if (pid == 0)
            continue;
        w[n].s = s;
        w[n].pid = pid;
        w[n].id = s->info.id;
        w[n].generation = s->info.generation;
        w[n].draining = s->info.draining != 0;
        for (size_t k = 0; k < METRICS_CONN_NSTATES; k++) {
            int64_t v = metrics_load_signed(&s->conns[k]);
            w[n].conns[k] = v > 0 ? v : 0;
        }
        w[n].redis_up = metrics_load(&s->redis_up) != 0;
        n++;
    }
    return n;
}

/* ---- /metrics ---- */

static const char *const status_le[METRICS_BUCKETS] = {
    "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01",
    "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10"
};

static const char *const status_conn_name[METRICS_CONN_GONE] = {
    "reading", "writing", "idle", "waiting"
};

static void
status_head(const char *name, const char *type, const char *help)
{
    out_printf("# HELP webserver_%s %s\n# TYPE webserver_%s %s\n", name, help,
               name, type);
}

static void
status_render_metrics(void)
{
    static struct status_worker w[STATUS_WORKERS_MAX];
    const struct metrics_region *m = metrics_region;
    struct metrics_counters c;
    int64_t conns[METRICS_CONN_NSTATES] = { 0 };
    uint64_t cum = 0;
    size_t nw;

    metrics_totals(&c);
    nw = status_workers(w, ARRAY_SIZE(w));
    for (size_t i = 0; i < nw; i++) {
        for (size_t k = 0; k < METRICS_CONN_NSTATES; k++)
            conns[k] += w[i].conns[k];
    }

    status_head("http_requests_total", "counter",
                "HTTP responses sent, by status code.");
    for (size_t k = 0; k < METRICS_CODES; k++) {
        if (c.requests[k] != 0)
            out_printf("webserver_http_requests_total{code=\"%zu\"} %llu\n",
                       k + METRICS_CODE_MIN,
                       (unsigned long long) c.requests[k]);
    }
    status_head("http_response_bytes_total", "counter",
                "Response body bytes sent.");
    out_printf("webserver_http_response_bytes_total %llu\n",
               (unsigned long long) c.bytes);

    status_head("http_request_duration_seconds", "histogram",
                "Time from the first byte of a request to the end of its "
                "response, on the worker's event-loop clock (a request "
                "answered within one loop turn counts as 0).");
    for (size_t b = 0; b < METRICS_BUCKETS; b++) {
        cum += c.duration[b];
        out_printf("webserver_http_request_duration_seconds_bucket"
                   "{le=\"%s\"} %llu\n", status_le[b],
                   (unsigned long long) cum);
    }
    cum += c.duration[METRICS_BUCKETS];
    out_printf("webserver_http_request_duration_seconds_bucket{le=\"+Inf\"} "
               "%llu\n", (unsigned long long) cum);
    out_printf("webserver_http_request_duration_seconds_sum %llu.%06llu\n",
               (unsigned long long) (c.duration_us / 1000000),
               (unsigned long long) (c.duration_us % 1000000));
    out_printf("webserver_http_request_duration_seconds_count %llu\n",
               (unsigned long long) cum);

    status_head("connections_accepted_total", "counter",
                "Client connections taken by the workers.");
    out_printf("webserver_connections_accepted_total %llu\n",
               (unsigned long long) c.accepted);
    status_head("connections", "gauge",
                "Open client connections, by state.");
    for (size_t k = 0; k < METRICS_CONN_GONE; k++)
        out_printf("webserver_connections{state=\"%s\"} %lld\n",
                   status_conn_name[k], (long long) conns[k]);

    status_head("workers", "gauge", "Live worker processes.");
    out_printf("webserver_workers %llu\n",
               (unsigned long long) metrics_load(&m->workers));
    status_head("worker_restarts_total", "counter",
                "Workers respawned after an unexpected exit.");
    out_printf("webserver_worker_restarts_total %llu\n",
               (unsigned long long) metrics_load(&m->worker_restarts));
    status_head("reloads_total", "counter",
                "Configuration reloads (SIGHUP), by result.");
    out_printf("webserver_reloads_total{result=\"ok\"} %llu\n"
               "webserver_reloads_total{result=\"failed\"} %llu\n",
               (unsigned long long) metrics_load(&m->reloads_ok),
               (unsigned long long) metrics_load(&m->reloads_failed));

    status_head("redis_up", "gauge",
                "1 while the worker's Redis connection works (each worker "
                "connects on its first session request).");
    for (size_t i = 0; i < nw; i++)
        out_printf("webserver_redis_up{worker=\"%d\"} %d\n", w[i].id,
                   w[i].redis_up ? 1 : 0);
    status_head("redis_commands_total", "counter",
                "Redis commands by result: a reply, an error (or Redis "
                "unavailable), no reply within redis_timeout.");
    out_printf("webserver_redis_commands_total{result=\"ok\"} %llu\n"
               "webserver_redis_commands_total{result=\"error\"} %llu\n"
               "webserver_redis_commands_total{result=\"timeout\"} %llu\n",
               (unsigned long long) c.redis[METRICS_REDIS_OK],
               (unsigned long long) c.redis[METRICS_REDIS_ERROR],
               (unsigned long long) c.redis[METRICS_REDIS_TIMEOUT]);
    status_head("tls_handshakes_total", "counter",
                "TLS handshakes by result: full, failed, resumed.");
    out_printf("webserver_tls_handshakes_total{result=\"ok\"} %llu\n"
               "webserver_tls_handshakes_total{result=\"failed\"} %llu\n"
               "webserver_tls_handshakes_total{result=\"resumed\"} %llu\n",
               (unsigned long long) c.tls[METRICS_TLS_OK],
               (unsigned long long) c.tls[METRICS_TLS_FAILED],
               (unsigned long long) c.tls[METRICS_TLS_RESUMED]);
    status_head("build_info", "gauge", "The server's version; always 1.");
    out_printf("webserver_build_info{version=\"%s\"} 1\n", WEBSERVER_VERSION);
}

void
status_metrics(struct txn *t)
{
    if (!status_allowed(t) || !status_available(t))
        return;
    out_reset();
    status_render_metrics();
    status_send(t, "text/plain; version=0.0.4; charset=utf-8", NULL);
}

/* ---- /status ---- */

/* Requests per second between consecutive samples, oldest first, at most
 * MAX of them and no older than STATUS_CHART_S; AGE[i] is how many seconds
 * before the newest sample rate i ends. Returns how many. */
static size_t
status_rates(double *rate, double *age, size_t max)
{
    const struct metrics_region *m = metrics_region;
    uint64_t n = __atomic_load_n(&m->nsamples, __ATOMIC_ACQUIRE);
    uint64_t first, newest_ms;
    size_t k = 0;

    if (n < 2)
        return 0;
    /* the slot the master writes next is the oldest one: leave it */
    first = n > METRICS_SAMPLES - 1 ? n - (METRICS_SAMPLES - 1) : 0;
    newest_ms = m->samples[(n - 1) % METRICS_SAMPLES].ms;
    for (uint64_t i = first + 1; i < n && k < max; i++) {
        const struct metrics_sample *a = &m->samples[(i - 1) % METRICS_SAMPLES];
        const struct metrics_sample *b = &m->samples[i % METRICS_SAMPLES];
        double dt = (double) (b->ms - a->ms) / 1000.0;

        if (newest_ms - b->ms > (uint64_t) STATUS_CHART_S * 1000 || dt <= 0)
            continue;
        rate[k] = b->requests >= a->requests
                  ? (double) (b->requests - a->requests) / dt : 0;
        age[k] = (double) (newest_ms - b->ms) / 1000.0;
        k++;
    }
    return k;
}

/* A round upper bound for the chart's y axis: 4, 8, 20, 40, 80, 200, ...
 * so that its four grid steps are whole numbers. */
static double
status_nice_max(double v)
{
    static const int f[] = { 2, 4, 8 };

    for (double step = 1;; step *= 10) {
        for (size_t i = 0; i < ARRAY_SIZE(f); i++) {
            if (f[i] * step >= v && f[i] * step >= 4)
                return f[i] * step;
        }
    }
}

/* The chart: inline SVG, presentation attributes and the classes of
 * style.css, no script. */
static void
status_render_chart(void)
{
    enum { W = 640, H = 200, L = 56, R = 8, T = 10, B = 26 };
    static double rate[METRICS_SAMPLES], age[METRICS_SAMPLES];
    size_t n = status_rates(rate, age, ARRAY_SIZE(rate));
    double top = 0, sx = (double) (W - L - R) / STATUS_CHART_S, sy;

    for (size_t i = 0; i < n; i++)
        top = rate[i] > top ? rate[i] : top;
    top = status_nice_max(top);
    sy = (double) (H - T - B) / top;

    out_printf("<svg class=\"chart\" viewBox=\"0 0 %d %d\" width=\"%d\" "
               "height=\"%d\" role=\"img\" aria-label=\"requests per second "
               "over the last %d minutes\">\n", W, H, W, H, STATUS_CHART_S / 60);
    out_printf("<rect class=\"chart-bg\" x=\"%d\" y=\"%d\" width=\"%d\" "
               "height=\"%d\" fill=\"#f6f7fb\"/>\n", L, T, W - L - R,
               H - T - B);
    for (int g = 0; g <= 4; g++) {
        int y = T + (H - T - B) * g / 4;
        out_printf("<line class=\"chart-grid\" x1=\"%d\" y1=\"%d\" x2=\"%d\" "
                   "y2=\"%d\" stroke=\"#dde1ea\"/>\n", L, y, W - R, y);
        out_printf("<text class=\"chart-label\" x=\"%d\" y=\"%d\" "
                   "text-anchor=\"end\" font-size=\"11\">%g</text>\n", L - 6,
                   y + 4, top * (4 - g) / 4);
    }
    for (int min = 0; min <= STATUS_CHART_S / 60; min++) {
        int x = W - R - (int) (min * 60 * sx);
        if (min == 0)
            out_printf("<text class=\"chart-label\" x=\"%d\" y=\"%d\" "
                       "text-anchor=\"end\" font-size=\"11\">now</text>\n",
                       x, H - 8);
        else
            out_printf("<text class=\"chart-label\" x=\"%d\" y=\"%d\" "
                       "text-anchor=\"middle\" font-size=\"11\">-%d min"
                       "</text>\n", x, H - 8, min);
    }
    if (n > 0) {
        out_printf("<polyline class=\"chart-line\" fill=\"none\" "
                   "stroke=\"#2457c5\" stroke-width=\"2\" points=\"");
        for (size_t i = 0; i < n; i++)
            out_printf("%s%.1f,%.1f", i ? " " : "",
                       (double) (W - R) - age[i] * sx,
                       (double) (H - B) - rate[i] * sy);
        out_printf("\"/>\n");
    } else {
        out_printf("<text class=\"chart-label\" x=\"%d\" y=\"%d\" "
                   "text-anchor=\"middle\" font-size=\"13\">no samples "
                   "yet</text>\n", (L + W - R) / 2, (T + H - B) / 2);
    }
    out_printf("</svg>\n");
}

/* N bytes for people: "512 B", "3.4 KiB", "12.0 MiB", "1.5 GiB". */
static const char *
status_bytes(uint64_t n, char *buf, size_t len)
{
    static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB" };
    double v = (double) n;
    size_t u = 0;

    if (n < 1024) {
        snprintf(buf, len, "%llu B", (unsigned long long) n);
        return buf;
    }
    v /= 1024;
    while (v >= 1024 && u + 1 < ARRAY_SIZE(unit)) {
        v /= 1024;
        u++;
    }
    snprintf(buf, len, "%.1f %s", v, unit[u]);
    return buf;
}

/* Redis as the page says it: a worker that never asked it anything has
 * not connected yet (connections are made on first use). */
static const char *
status_redis(const struct status_worker *w)
{
    const struct metrics_counters *c = &w->s->c;

    if (w->redis_up)
        return "up";
    for (size_t k = 0; k < METRICS_REDIS_NRESULTS; k++) {
        if (metrics_load(&c->redis[k]) != 0)
            return "down";
    }
    return "unused";
}

/* "3 d 04:05:06" or "04:05:06". */
static void
status_uptime(char *buf, size_t len, int64_t s)
{
    if (s < 0)
        s = 0;
    if (s >= 86400)
        snprintf(buf, len, "%lld d %02lld:%02lld:%02lld",
                 (long long) (s / 86400), (long long) (s % 86400 / 3600),
                 (long long) (s % 3600 / 60), (long long) (s % 60));
    else
        snprintf(buf, len, "%02lld:%02lld:%02lld", (long long) (s / 3600),
                 (long long) (s % 3600 / 60), (long long) (s % 60));
}

static void
status_render_page(void)
{
    static struct status_worker w[STATUS_WORKERS_MAX];
    const struct metrics_region *m = metrics_region;
    struct metrics_counters c;
    int64_t tot[METRICS_CONN_NSTATES] = { 0 };
    uint64_t treq = 0, tbytes = 0;
    size_t nw = status_workers(w, ARRAY_SIZE(w));
    char up[48], b1[32], b2[32];

    metrics_totals(&c);
    status_uptime(up, sizeof(up), (int64_t) clock_wall() - m->started);
    out_printf("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
               "<meta charset=\"utf-8\">\n"
               "<meta name=\"viewport\" content=\"width=device-width, "
               "initial-scale=1\">\n"
               "<meta http-equiv=\"refresh\" content=\"%d\">\n"
               "<title>Status - webserver</title>\n"
               "<link rel=\"stylesheet\" href=\"/style.css\">\n</head>\n"
               "<body>\n<header><a class=\"brand\" href=\"/\">webserver</a>"
               "<a href=\"/status\">Status</a><a href=\"/metrics\">Metrics</a>"
               "</header>\n<main class=\"wide\">\n<h1>Status</h1>\n",
               STATUS_REFRESH_S);
    out_printf("<p class=\"hint\">%s/%s, up %s, %zu worker%s, %llu requests "
               "answered, %llu worker restarts, %llu reloads (%llu failed). "
               "This page reloads every %d s.</p>\n",
               WEBSERVER_NAME, WEBSERVER_VERSION, up, nw, nw == 1 ? "" : "s",
               (unsigned long long) metrics_requests(&c),
               (unsigned long long) metrics_load(&m->worker_restarts),
               (unsigned long long) metrics_load(&m->reloads_ok),
               (unsigned long long) metrics_load(&m->reloads_failed),
               STATUS_REFRESH_S);
    out_printf("<h2>Requests per second</h2>\n");
    status_render_chart();

    out_printf("<h2>Workers</h2>\n<table class=\"workers\">\n<thead><tr>"
               "<th>worker</th><th>pid</th><th>generation</th>"
               "<th>reading</th><th>writing</th><th>idle</th>"
               "<th>waiting</th><th>requests</th><th>bytes</th>"
               "<th>Redis</th></tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < nw; i++) {
        uint64_t req = metrics_requests(&w[i].s->c);
        uint64_t bytes = metrics_load(&w[i].s->c.bytes);

        treq += req;
        tbytes += bytes;
        for (size_t k = 0; k < METRICS_CONN_NSTATES; k++)
            tot[k] += w[i].conns[k];
        out_printf("<tr class=\"worker-row%s\"><td>%d%s</td><td>%d</td>"
                   "<td>%u</td><td>%lld</td><td>%lld</td><td>%lld</td>"
                   "<td>%lld</td><td>%llu</td><td>%s</td>"
                   "<td class=\"%s\">%s</td></tr>\n",
                   w[i].draining ? " draining" : "", w[i].id,
                   w[i].draining ? " (draining)" : "", w[i].pid,
                   w[i].generation,
                   (long long) w[i].conns[METRICS_CONN_READING],
                   (long long) w[i].conns[METRICS_CONN_WRITING],
                   (long long) w[i].conns[METRICS_CONN_IDLE],
                   (long long) w[i].conns[METRICS_CONN_WAITING],
                   (unsigned long long) req,
                   status_bytes(bytes, b1, sizeof(b1)), status_redis(&w[i]),
                   status_redis(&w[i]));
    }
    out_printf("</tbody>\n<tfoot><tr class=\"total-row\"><th>live "
               "workers</th><td></td><td></td><td>%lld</td><td>%lld</td>"
               "<td>%lld</td><td>%lld</td><td>%llu</td><td>%s</td>"
               "<td></td></tr>\n",
               (long long) tot[METRICS_CONN_READING],
               (long long) tot[METRICS_CONN_WRITING],
               (long long) tot[METRICS_CONN_IDLE],
               (long long) tot[METRICS_CONN_WAITING],
               (unsigned long long) treq, status_bytes(tbytes, b1, sizeof(b1)));
    out_printf("<tr class=\"total-row\"><th>server</th><td></td><td></td>"
               "<td colspan=\"4\">%llu connections accepted</td>"
               "<td>%llu</td><td>%s</td><td></td></tr>\n</tfoot>\n"
               "</table>\n",
               (unsigned long long) c.accepted,
               (unsigned long long) metrics_requests(&c),
               status_bytes(c.bytes, b2, sizeof(b2)));
    out_printf("<p class=\"hint\">Requests and bytes per worker count since "
               "its slot started (a respawned worker goes on with them); the "
               "server row also holds the workers of earlier generations. "
               "Redis: a worker connects when it first needs it.</p>\n"
               "</main>\n</body>\n</html>\n");
}

void
status_page(struct txn *t)
{
    if (!status_allowed(t) || !status_available(t))
        return;
    out_reset();
    status_render_page();
    status_send(t, "text/html; charset=utf-8", STATUS_CSP);
}
