/* worker.c - worker_main(): one libevent loop that takes connections from
 * the master's channel and serves them. Worker only; single-threaded.
 * A worker drains (finishes in-flight requests, closes idle ones, exits
 * within shutdown_timeout) on CHAN_QUIT, SIGQUIT, or EOF on its channel
 * (the master died), and stops at once on CHAN_TERMINATE, SIGTERM, SIGINT.
 * The top of the worker's layers: it wires the router into the connection
 * layer and learns of closed connections through a hook (worker_wire()).
 * SPDX-License-Identifier: MIT */
#include "worker.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "access_log.h"
#include "chan.h"
#include "clock.h"
#include "conn.h"
#include "conn_pool.h"
#include "crypt_pool.h"
#include "file_cache.h"
#include "defs.h"
#include "form_page.h"
#include "http_response.h"
#include "log.h"
#include "redis_client.h"
#include "router.h"
#include "status.h"
#include "timer.h"
#include "transport_tls.h"
#include "worker_ctx.h"

/* Finished conns are reported at most this long after they close ... */
#define WORKER_LOAD_DELAY_MS  5
/* ... or at once when this many are waiting. */
#define WORKER_LOAD_BATCH     64
/* Threads per worker that hash passwords. */
#define WORKER_CRYPT_THREADS  2

static struct event *worker_chan_ev;
static struct event *worker_sig[4];
static struct event *worker_drain_ev;
static struct event *worker_files_ev;      /* the file cache's change reports */

static void worker_send_load(void);

/* A report is due within WORKER_LOAD_DELAY_MS. */
static void
worker_load_arm(void)
{
    struct timeval tv = { 0, WORKER_LOAD_DELAY_MS * 1000 };

    if (!wctx.load_armed) {
        evtimer_add(wctx.load_ev, &tv);
        wctx.load_armed = true;
    }
}

/* A connection was closed: count it for the master's load table and, while
 * draining, stop the loop after the last one. */
static void
worker_conn_closed(void)
{
    wctx.finished++;
    if (wctx.finished >= WORKER_LOAD_BATCH)
        worker_send_load();
    else
        worker_load_arm();
    if (wctx.draining && wctx.active == 0)
        event_base_loopbreak(wctx.base);
}

static void
worker_send_load(void)
{
    struct chan_msg msg = { CHAN_LOAD, wctx.finished };

    if (wctx.finished == 0 || wctx.chan_fd < 0)
        return;
    /* on RC_AGAIN the count is kept and goes out with the next report */
    if (chan_send(wctx.chan_fd, &msg, NULL, 0) == RC_OK)
        wctx.finished = 0;
}

static void
worker_load_cb(evutil_socket_t fd, short what, void *arg)
{
    UNUSED(fd);
    UNUSED(what);
    UNUSED(arg);
    wctx.load_armed = false;
    worker_send_load();
    if (wctx.finished > 0)
        worker_load_arm();      /* the channel was full: try again soon */
}

static void
worker_drain_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    UNUSED(fd);
    UNUSED(what);
    UNUSED(arg);
    log_msg(LOG_WARN, "shutdown_timeout reached with %zu connections open; "
            "closing them", wctx.active);
    conn_close_all();
    event_base_loopbreak(wctx.base);
}

/* Stop taking work, finish what is in flight, exit. STOP: the server
 * stops, so idle connections close now; otherwise (a reload) they stay
 * until their next request or keep-alive timeout, as a client may be
 * sending on one. */
static void
worker_drain(const char *why, bool stop)
{
    struct timeval tv;

    if (wctx.draining)
        return;
    wctx.draining = true;
    log_msg(LOG_NOTICE, "draining (%s), %zu connections open", why, wctx.active);
    tv.tv_sec = (time_t) (wctx.cfg.shutdown_timeout / 1000);
    tv.tv_usec = (suseconds_t) (wctx.cfg.shutdown_timeout % 1000) * 1000;
    worker_drain_ev = evtimer_new(wctx.base, worker_drain_timeout_cb, NULL);
    if (worker_drain_ev != NULL)
        evtimer_add(worker_drain_ev, &tv);
    /* On a reload no connection is closed here: each finishes its request,
     * and an idle keep-alive one answers its next request (with
     * "Connection: close") or closes at its keep-alive timeout. Closing
     * idle ones now would race with clients that are sending a request on
     * them, and a new generation is there to take their next one. */
    if (stop)
        conn_close_idle();
    if (wctx.active == 0)
        event_base_loopbreak(wctx.base);
}

static void
worker_stop_now(void)
{
    conn_close_all();
    event_base_loopbreak(wctx.base);
}

static void
worker_chan_cb(evutil_socket_t fd, short what, void *arg)
{
    struct chan_msg msg;
    int fds[CHAN_MAX_FDS], nfds, rc;

    UNUSED(what);
    UNUSED(arg);
    clock_update();
    for (;;) {
        rc = chan_recv(fd, &msg, fds, CHAN_MAX_FDS, &nfds);
        if (rc == RC_AGAIN)
            return;
        if (rc == RC_ERR) {
            /* logged and cleaned up. Connections lost on the way (no room
             * for the descriptors: MSG_CTRUNC) still count as finished,
             * or the master would think us busier than we are. */
            if ((msg.type == CHAN_NEW_CONN || msg.type == CHAN_NEW_TLS_CONN)
                && msg.arg > 0
                && msg.arg <= CHAN_MAX_FDS) {
                log_msg(LOG_ERR, "lost %d connection(s) in transit: out of "
                        "file descriptors?", msg.arg);
                for (int i = 0; i < msg.arg; i++)
                    worker_conn_closed();
            }
            continue;
        }
        if (rc == RC_DONE) {
            /* the master is gone: nobody will send work or stop us */
            event_del(worker_chan_ev);
            close(wctx.chan_fd);
            wctx.chan_fd = -1;
            worker_drain("the master closed the channel", true);
            return;
        }
        switch (msg.type) {
        case CHAN_NEW_CONN:
            /* even while draining: the client is owed an answer (it gets
             * "Connection: close"); shutdown_timeout bounds the wait */
            for (int i = 0; i < nfds; i++)
                conn_open(fds[i]);
            break;
        case CHAN_NEW_TLS_CONN:
            for (int i = 0; i < nfds; i++)
                conn_open_tp(fds[i], &transport_tls);
            break;
        case CHAN_QUIT:
            worker_drain(msg.arg == CHAN_QUIT_STOP ? "the server stops"
                         : "a new generation took over",
                         msg.arg == CHAN_QUIT_STOP);
            break;
        case CHAN_TERMINATE:
            worker_stop_now();
            return;
        case CHAN_REOPEN:
            log_reopen();
            access_log_reopen();
            break;
        default:
            log_msg(LOG_WARN, "unexpected channel message %u", msg.type);
            break;
        }
    }
}

static void
worker_signal_cb(evutil_socket_t sig, short what, void *arg)
{
    UNUSED(what);
    UNUSED(arg);
    clock_update();
    switch (sig) {
    case SIGQUIT:
        worker_drain("SIGQUIT", true);
        break;
    case SIGTERM:
    case SIGINT:
        worker_stop_now();
        break;
    case SIGUSR1:
        log_reopen();
        access_log_reopen();
        break;
    }
}

void
worker_wire(void)
{
    static const struct conn_hooks hooks = {
        .select = router_select,
        .route  = router_dispatch,
        .closed = worker_conn_closed,
    };

    conn_set_hooks(&hooks);
}

/* Fault injection for tests: when $WEBSERVER_FAULT_WORKER_START names a
 * file that exists, set-up fails as if a resource were missing, so a test
 * can make one generation unable to start without breaking the config
 * check. Unset in production, where it costs one getenv() per start. */
static bool
worker_fault_start(void)
{
    const char *path = getenv("WEBSERVER_FAULT_WORKER_START");

    return path != NULL && path[0] != '\0' && access(path, F_OK) == 0;
}

/* An event base whose epoll changes are batched per loop turn: a
 * connection opened and closed within one turn (Connection: close with the
 * request already there) costs no epoll_ctl at all. Safe here because no
 * descriptor is ever dup()ed while registered. */
static struct event_base *
worker_base_new(void)
{
    struct event_config *ec = event_config_new();
    struct event_base *base;

    if (ec == NULL)
        return NULL;
    event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    base = event_base_new_with_config(ec);
    event_config_free(ec);
    /* two priorities: 0 for the file cache's change reports, read before
     * any connection of the same loop turn (file_cache.h); 1, the default
     * of every other event */
    if (base != NULL && event_base_priority_init(base, 2) < 0) {
        event_base_free(base);
        return NULL;
    }
    return base;
}

static void
worker_file_changes_cb(evutil_socket_t fd, short what, void *arg)
{
    UNUSED(fd);
    UNUSED(what);
    UNUSED(arg);
    file_cache_changes();
}

/* Watch the document root for the file cache. Without inotify the cache
 * checks each hit with fstatat() instead, so a failure here costs speed,
 * never correctness. */
static void
worker_watch_files(void)
{
    int fd;

    file_cache_init(wctx.root_fd, true);
    fd = file_cache_watch_fd();
    if (fd < 0)
        return;
    worker_files_ev = event_new(wctx.base, fd, EV_READ | EV_PERSIST,
                                worker_file_changes_cb, NULL);
    if (worker_files_ev == NULL || event_priority_set(worker_files_ev, 0) < 0
        || event_add(worker_files_ev, NULL) < 0) {
        log_msg(LOG_ERR, "cannot watch the document root; cached files are "
                "checked with fstatat() on every hit");
        if (worker_files_ev != NULL)
            event_free(worker_files_ev);
        worker_files_ev = NULL;
        file_cache_deinit();
        file_cache_init(wctx.root_fd, false);
    }
}

int
worker_main(const struct config *cfg, int chan_fd, int id)
{
    static const int sigs[] = { SIGQUIT, SIGTERM, SIGINT, SIGUSR1 };
    struct sigaction sa;

    memset(&wctx, 0, sizeof(wctx));
    worker_wire();
    wctx.cfg = *cfg;
    wctx.id = id;
    wctx.chan_fd = chan_fd;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);       /* reload is the master's business */
    clock_update();

    wctx.root_fd = open(cfg->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (wctx.root_fd < 0) {
        log_errno(LOG_CRIT, errno, "cannot open root \"%s\"", cfg->root);
        return 2;
    }
    wctx.base = worker_base_new();
    wctx.pool = mpool_create(0);
    wctx.scratch_len = cfg->max_request_header + 256;
    wctx.scratch = malloc(WORKER_SCRATCH_AREAS * wctx.scratch_len);
    if (wctx.base == NULL || wctx.pool == NULL || wctx.scratch == NULL
        || timer_init(wctx.base) != RC_OK
        || conn_pool_init((size_t) cfg->max_connections) != RC_OK
        || conn_events_init(wctx.base) != RC_OK) {
        log_msg(LOG_CRIT, "cannot set up the worker");
        return 2;
    }
    wctx.load_ev = evtimer_new(wctx.base, worker_load_cb, NULL);
    worker_chan_ev = event_new(wctx.base, chan_fd, EV_READ | EV_PERSIST,
                               worker_chan_cb, NULL);
    if (wctx.load_ev == NULL || worker_chan_ev == NULL
        || event_add(worker_chan_ev, NULL) < 0) {
        log_msg(LOG_CRIT, "cannot watch the master channel");
        return 2;
    }
    for (size_t i = 0; i < ARRAY_SIZE(sigs); i++) {
        worker_sig[i] = evsignal_new(wctx.base, sigs[i], worker_signal_cb, NULL);
        if (worker_sig[i] == NULL || event_add(worker_sig[i], NULL) < 0) {
            log_msg(LOG_CRIT, "cannot watch signal %d", sigs[i]);
            return 2;
        }
    }
    {
        /* the master forked us with its signals blocked; ours are
         * watched now */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
    }
    if (access_log_open(wctx.base, cfg->access_log) != RC_OK)
        return 2;
    if (redis_client_init(wctx.base, cfg) != RC_OK
        || crypt_pool_init(wctx.base, WORKER_CRYPT_THREADS,
                           cfg->hash_queue_max) != RC_OK) {
        log_msg(LOG_CRIT, "cannot set up the session services");
        return 2;
    }
    worker_watch_files();
    http_response_set_security(wctx.cfg.security_headers);
    http_response_load_pages(wctx.root_fd);
    form_page_load(wctx.root_fd);
    if (cfg->tls_port >= 0 && transport_tls_init(cfg) != RC_OK)
        return 2;

    if (worker_fault_start()) {
        log_msg(LOG_CRIT, "cannot set up the worker: failure injected by "
                "$WEBSERVER_FAULT_WORKER_START");
        return 2;
    }
    {
        /* the master gives us connections, and lets the generation before
         * us drain, only after this */
        struct chan_msg ready = { CHAN_READY, 0 };
        if (chan_send(chan_fd, &ready, NULL, 0) != RC_OK) {
            log_msg(LOG_CRIT, "cannot tell the master that we are ready");
            return 2;
        }
    }
    log_msg(LOG_INFO, "ready");
    event_base_dispatch(wctx.base);

    /* We are leaving: a stop signal now (say, the master's SIGTERM after a
     * terminal's SIGINT to the whole group) must not kill us half-way
     * through the cleanup, once libevent has put back the default
     * handlers. Blocked, it stays pending and dies with the process. */
    {
        sigset_t stop;
        sigemptyset(&stop);
        for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
            sigaddset(&stop, sigs[i]);
        sigprocmask(SIG_BLOCK, &stop, NULL);
    }
    worker_send_load();
    redis_client_deinit();
    crypt_pool_deinit();
    http_response_free_pages();
    form_page_free();
    status_free();
    {
        struct file_cache_stats fs;
        file_cache_get_stats(&fs);
        log_msg(LOG_INFO, "file cache: %lu hits, %lu misses, %lu fstatat() "
                "checks, %lu stale, %lu changed (inotify), %lu restarts",
                fs.hits, fs.misses, fs.stat_checks, fs.stale, fs.changed,
                fs.restarts);
    }
    if (worker_files_ev != NULL)
        event_free(worker_files_ev);
    file_cache_deinit();
    if (wctx.cfg.tls_port >= 0)
        log_msg(LOG_NOTICE, "tls handshakes: %llu ok, %llu resumed, "
                "%llu failed",
                (unsigned long long) wctx.tls_handshakes.ok,
                (unsigned long long) wctx.tls_handshakes.resumed,
                (unsigned long long) wctx.tls_handshakes.failed);
    transport_tls_deinit();
    access_log_close();
    for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
        event_free(worker_sig[i]);
    if (worker_drain_ev != NULL)
        event_free(worker_drain_ev);
    if (worker_chan_ev != NULL)
        event_free(worker_chan_ev);
    event_free(wctx.load_ev);
    timer_deinit();
    conn_free_cache();
    conn_events_deinit();
    conn_pool_deinit();
    event_base_free(wctx.base);
    mpool_destroy(wctx.pool);
    free(wctx.scratch);
    if (wctx.chan_fd >= 0)
        close(wctx.chan_fd);
    close(wctx.root_fd);
    log_msg(LOG_INFO, "exit");
    return 0;
}
