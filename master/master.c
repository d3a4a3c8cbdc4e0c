/* master.c - the master process: worker generations, signals, reload,
 * shutdown. Master only; single-threaded libevent loop. Signals arrive as
 * libevent callbacks (evsignal); nothing runs inside a raw handler.
 * A reload that fails (bad config, bind error) keeps everything as it was.
 * SPDX-License-Identifier: MIT */
#include "master.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chan.h"
#include "clock.h"
#include "defs.h"
#include "dispatch.h"
#include "log.h"
#include "metrics.h"
#include "net.h"
#include "proc.h"
#include "worker.h"

/* Grace after shutdown_timeout before a draining worker gets SIGKILL. */
#define MASTER_DRAIN_GRACE_MS  2000
/* How long TERM/INT waits before SIGKILL (everything gone within 3 s). */
#define MASTER_TERM_KILL_MS    2000
/* A slot is respawned at most this often. */
#define MASTER_RESPAWN_MS      1000
/* Housekeeping tick while respawns, drains or a stop are pending. */
#define MASTER_TICK_MS         50
/* A new generation whose workers are not all ready by then is given up. */
#define MASTER_READY_MS        30000
/* The status chart's samples of the request total, this often. */
#define MASTER_SAMPLE_MS       1000

static const int master_signals[] = {
    SIGHUP, SIGQUIT, SIGTERM, SIGINT, SIGUSR1, SIGCHLD
};

static struct {
    struct event_base        *base;
    const struct master_opts *opts;
    struct config             cfg;          /* the one in force */
    unsigned                  generation;
    int                       next_id;
    bool                      stopping;     /* QUIT: drain then exit */
    bool                      terminating;  /* TERM/INT: exit fast */
    uint64_t                  kill_at;      /* stop escalation deadline */
    struct event             *sig[ARRAY_SIZE(master_signals)];
    struct event             *tick;
    bool                      tick_armed;
    struct event             *sample;       /* MASTER_SAMPLE_MS, always on */
    int                       exit_code;

    /* A generation that was started but has not yet said it is ready on
     * every channel. Until it has, the one before it keeps serving (and is
     * the only one given connections); a pending worker that exits, or a
     * deadline, gives the new generation up instead. */
    unsigned                  pending_gen;  /* 0: none */
    struct config             pending_cfg;
    int                       pending_lfd;  /* socket it takes over, or -1 */
    int                       pending_tls_lfd;  /* the same for tls_port */
    uint64_t                  pending_deadline;
    bool                      pending_first;    /* the start, not a reload */
    bool                      reload_wanted;    /* HUP while one was pending */
} M = { .pending_lfd = -1, .pending_tls_lfd = -1 };

/* ---- Workers ---- */

static void master_arm_tick(void);
static void master_pending_check(void);

static void
master_close_channel(struct worker_slot *w)
{
    if (w->chan_ev != NULL)
        event_free(w->chan_ev);
    w->chan_ev = NULL;
    if (w->chan_wev != NULL)
        event_free(w->chan_wev);
    w->chan_wev = NULL;
    w->chan_full = false;
    if (w->chan_fd >= 0)
        close(w->chan_fd);
    w->chan_fd = -1;
    w->alive = false;
    dispatch_kick();        /* what waited for it goes elsewhere */
}

/* Load reports and EOF from one worker's channel. */
static void
master_chan_cb(evutil_socket_t fd, short what, void *arg)
{
    struct worker_slot *w = arg;
    struct chan_msg msg;
    int fds[CHAN_MAX_FDS], nfds, rc;

    UNUSED(what);
    for (;;) {
        rc = chan_recv(fd, &msg, fds, CHAN_MAX_FDS, &nfds);
        if (rc == RC_AGAIN)
            return;
        if (rc != RC_OK) {
            /* the worker is gone or broken; SIGCHLD does the rest */
            master_close_channel(w);
            return;
        }
        if (msg.type == CHAN_LOAD && msg.arg >= 0) {
            w->active -= msg.arg;
            if (w->active < 0)
                w->active = 0;
        } else if (msg.type == CHAN_READY) {
            w->ready = true;
            dispatch_kick();
            if (M.pending_gen != 0 && w->generation == M.pending_gen)
                master_pending_check();
        } else {
            log_msg(LOG_WARN, "unexpected message %u from worker %d",
                    msg.type, w->id);
        }
    }
}

static void
master_reset_signals_in_child(void)
{
    struct sigaction sa;
    sigset_t all;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    for (size_t i = 0; i < ARRAY_SIZE(master_signals); i++)
        sigaction(master_signals[i], &sa, NULL);
    /* the worker's own handlers are not there yet: what the master's
     * signals would do by default (die) waits until worker_main() watches
     * them and unblocks */
    sigemptyset(&all);
    for (size_t i = 0; i < ARRAY_SIZE(master_signals); i++)
        sigaddset(&all, master_signals[i]);
    sigprocmask(SIG_SETMASK, &all, NULL);
}

/* Fork a worker running CFG into slot W (in use, no process). Returns
 * RC_OK or RC_ERR. */
static int
master_spawn(struct worker_slot *w, const struct config *cfg)
{
    int fds[2], code;
    sigset_t all, old;
    pid_t pid;

    if (chan_open(fds) != RC_OK)
        return RC_ERR;

    /* block signals so the child cannot run the master's handlers */
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    pid = fork();
    if (pid < 0) {
        log_errno(LOG_ERR, errno, "fork() failed");
        sigprocmask(SIG_SETMASK, &old, NULL);
        close(fds[0]);
        close(fds[1]);
        return RC_ERR;
    }
    if (pid == 0) {
        char tag[32];
        master_reset_signals_in_child();
        close(fds[0]);
        if (dispatch_listen_fd() >= 0)
            close(dispatch_listen_fd());
        if (dispatch_fd(DISPATCH_TLS) >= 0)
            close(dispatch_fd(DISPATCH_TLS));
        if (M.pending_lfd >= 0)         /* a reload's new listen socket */
            close(M.pending_lfd);
        if (M.pending_tls_lfd >= 0)
            close(M.pending_tls_lfd);
        for (size_t i = 0; i < proc_count; i++) {
            if (proc_table[i].chan_fd >= 0 && &proc_table[i] != w)
                close(proc_table[i].chan_fd);
        }
        snprintf(tag, sizeof(tag), "worker %d", w->id);
        log_set_tag(tag);
        metrics_attach((size_t) (w - proc_table));
        /* a generation started by a reload logs where its config says,
         * while the master switches only when that generation takes over */
        if (strcmp(cfg->error_log, M.cfg.error_log) != 0
            && log_open(cfg->error_log) != RC_OK)
            _exit(2);
        log_set_level(cfg->log_level);
        /* the master's event_base is left alone: freeing it here would
         * touch the epoll instance the master still uses */
        code = worker_main(cfg, fds[1], w->id);
        _exit(code);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    close(fds[1]);

    w->pid = pid;
    w->chan_fd = fds[0];
    w->alive = true;
    w->ready = false;
    w->active = 0;
    w->draining = false;
    w->chan_full = false;
    w->respawn_at = 0;
    w->max_conns = net_fd_capacity(cfg->max_connections);
    w->spawned_at = clock_update();
    metrics_slot_start((size_t) (w - proc_table), pid, w->id, w->generation);
    w->chan_ev = event_new(M.base, fds[0], EV_READ | EV_PERSIST, master_chan_cb, w);
    if (w->chan_ev == NULL || event_add(w->chan_ev, NULL) < 0) {
        log_msg(LOG_ERR, "cannot watch the channel of worker %d", w->id);
        master_close_channel(w);
    }
    log_msg(LOG_NOTICE, "worker %d started, pid %d, generation %u",
            w->id, (int) pid, w->generation);
    return RC_OK;
}

/* Start a new generation of CFG->processes workers. */
static int
master_spawn_generation(const struct config *cfg)
{
    int started = 0, cap;
    long nofile;

    M.generation++;
    /* once per generation, and only when the limit really cuts what the
     * configuration asks for (a reload may ask for more) */
    nofile = net_raise_nofile(NET_FD_NEED(cfg->max_connections));
    cap = net_fd_capacity(cfg->max_connections);
    if (cap < cfg->max_connections)
        log_msg(LOG_WARN, "workers take %d connections each, not "
                "max_connections %d: RLIMIT_NOFILE is too low (%ld; each "
                "connection needs 2 descriptors, a socket and the file it "
                "sends): raise it (LimitNOFILE= in the systemd unit, ulimit "
                "-n) or lower max_connections", cap, cfg->max_connections,
                nofile);
    for (int i = 0; i < cfg->processes; i++) {
        struct worker_slot *w = proc_alloc();
        if (w == NULL) {
            log_msg(LOG_ERR, "worker table is full");
            break;
        }
        w->id = ++M.next_id;
        w->generation = M.generation;
        if (master_spawn(w, cfg) != RC_OK) {
            proc_release(w);
            continue;
        }
        started++;
    }
    return started > 0 ? RC_OK : RC_ERR;
}

/* W's channel failed while connections were handed over. Close our end:
 * a worker that still runs sees EOF, finishes what it has and exits, and
 * its exit (not asked for) has it respawned; one that died is reaped the
 * same way. */
static void
master_channel_broken(struct worker_slot *w)
{
    log_msg(LOG_ERR, "the channel to worker %d (pid %d) failed; replacing "
            "the worker", w->id, (int) w->pid);
    master_close_channel(w);
}

/* Send W a message of TYPE and ARG over its channel; when the channel
 * cannot take it (full, or gone), send SIG instead, which a worker treats
 * alike (SIGQUIT for CHAN_QUIT, as a stop; SIGUSR1 for CHAN_REOPEN). */
static void
master_tell(struct worker_slot *w, uint32_t type, int32_t arg, int sig)
{
    struct chan_msg msg = { type, arg };

    if (w->chan_fd >= 0 && chan_send(w->chan_fd, &msg, NULL, 0) == RC_OK)
        return;
    if (w->pid > 0 && kill(w->pid, sig) < 0)
        log_errno(LOG_WARN, errno, "kill(%d, %d) failed", (int) w->pid, sig);
}

/* Ask every worker of generations older than GEN to drain and exit. */
static void
master_drain_older(unsigned gen)
{
    uint64_t now = clock_update();

    for (size_t i = 0; i < proc_count; i++) {
        struct worker_slot *w = &proc_table[i];
        if (!w->in_use || w->generation >= gen || w->draining)
            continue;
        if (w->pid == 0) {          /* a respawn was pending: cancel it */
            proc_release(w);
            continue;
        }
        w->draining = true;
        metrics_slot_draining((size_t) (w - proc_table));
        w->kill_at = now + (uint64_t) M.cfg.shutdown_timeout + MASTER_DRAIN_GRACE_MS;
        master_tell(w, CHAN_QUIT, CHAN_QUIT_RELOAD, SIGQUIT);
        log_msg(LOG_NOTICE, "worker %d (pid %d) draining", w->id, (int) w->pid);
    }
    master_arm_tick();
}

/* ---- New generations: ready, commit, abort ---- */

static void master_reload(void);
static void master_stop(bool fast);
static void master_pending_abort(const char *why);

/* Start a generation running CFG that takes over from the current one
 * (and LFD and TLS_LFD, unless -1) once every worker of it has said it is
 * ready. FIRST: this is the start. Returns RC_OK, or RC_ERR when no worker
 * could be forked (the sockets are then closed). */
static int
master_pending_start(const struct config *cfg, int lfd, int tls_lfd,
                     bool first)
{
    M.pending_cfg = *cfg;
    M.pending_lfd = lfd;
    M.pending_tls_lfd = tls_lfd;
    M.pending_first = first;
    if (master_spawn_generation(&M.pending_cfg) != RC_OK) {
        /* the slots of what did start are released by the abort below */
        M.pending_gen = M.generation;
        master_pending_abort("no worker could be started");
        return RC_ERR;
    }
    M.pending_gen = M.generation;
    M.pending_deadline = clock_update() + MASTER_READY_MS;
    master_arm_tick();
    return RC_OK;
}

/* Every worker of the pending generation is ready: it becomes the one in
 * force, and the ones before it drain. */
static void
master_pending_commit(void)
{
    unsigned gen = M.pending_gen;
    bool first = M.pending_first;

    if (!first && strcmp(M.pending_cfg.error_log, M.cfg.error_log) != 0
        && log_open(M.pending_cfg.error_log) != RC_OK)
        log_msg(LOG_ERR, "cannot open error_log \"%s\"; logging on to the "
                "old one", M.pending_cfg.error_log);
    log_set_level(M.pending_cfg.log_level);
    M.cfg = M.pending_cfg;
    M.pending_gen = 0;
    if (M.pending_lfd >= 0) {
        dispatch_stop();
        if (dispatch_start(M.base, M.pending_lfd) != RC_OK)
            log_msg(LOG_CRIT, "not accepting connections any more");
        M.pending_lfd = -1;
    }
    if (M.pending_tls_lfd >= 0) {
        if (dispatch_listen(M.base, DISPATCH_TLS, M.pending_tls_lfd) != RC_OK)
            log_msg(LOG_CRIT, "not accepting TLS connections any more");
        M.pending_tls_lfd = -1;
    } else if (M.cfg.tls_port < 0) {
        dispatch_close(DISPATCH_TLS);   /* HTTPS was turned off */
    }
    if (first) {
        log_msg(LOG_NOTICE, "%s/%s started, %d workers", WEBSERVER_NAME,
                WEBSERVER_VERSION, M.cfg.processes);
    } else {
        master_drain_older(gen);
        metrics_count_reload(true);
        log_msg(LOG_NOTICE, "reload done: generation %u, %d workers", gen,
                M.cfg.processes);
    }
    if (M.reload_wanted) {
        M.reload_wanted = false;
        master_reload();
    }
}

static void
master_pending_check(void)
{
    for (size_t i = 0; i < proc_count; i++) {
        const struct worker_slot *w = &proc_table[i];
        if (w->in_use && w->generation == M.pending_gen
            && (w->pid == 0 || !w->ready))
            return;
    }
    master_pending_commit();
}

/* The pending generation cannot run (WHY): stop what is left of it and
 * keep the running one. At start there is none, so the master exits 2. */
static void
master_pending_abort(const char *why)
{
    uint64_t now = clock_update();
    unsigned gen = M.pending_gen;

    M.pending_gen = 0;
    for (size_t i = 0; i < proc_count; i++) {
        struct worker_slot *w = &proc_table[i];
        if (!w->in_use || w->generation != gen)
            continue;
        if (w->pid == 0) {
            master_close_channel(w);
            proc_release(w);
            continue;
        }
        w->draining = true;         /* its exit is expected now */
        w->kill_at = now + MASTER_TERM_KILL_MS;
        kill(w->pid, SIGTERM);
    }
    if (M.pending_lfd >= 0) {
        close(M.pending_lfd);
        M.pending_lfd = -1;
        /* port_file named the new socket; it is the old one again */
        if (dispatch_listen_fd() >= 0)
            master_write_port_file(&M.cfg, net_local_port(dispatch_listen_fd()));
    }
    if (M.pending_tls_lfd >= 0) {
        close(M.pending_tls_lfd);
        M.pending_tls_lfd = -1;
        if (dispatch_fd(DISPATCH_TLS) >= 0)
            master_write_port_path(M.cfg.tls_port_file,
                                   net_local_port(dispatch_fd(DISPATCH_TLS)));
    }
    master_arm_tick();
    if (M.pending_first) {
        log_msg(LOG_CRIT, "cannot start: %s", why);
        M.exit_code = 2;
        master_stop(true);
        return;
    }
    metrics_count_reload(false);
    log_msg(LOG_ERR, "reload failed: %s; the running workers keep serving",
            why);
    if (M.reload_wanted) {
        M.reload_wanted = false;
        master_reload();
    }
}

static bool
master_done(void)
{
    return (M.stopping || M.terminating) && proc_running() == 0;
}

static void
master_reap(void)
{
    int status;
    pid_t pid;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        struct worker_slot *w = proc_find(pid);
        bool cannot_work = WIFEXITED(status) && WEXITSTATUS(status) == 2;
        bool expected;

        if (w == NULL)
            continue;
        expected = w->draining || M.stopping || M.terminating;
        if (WIFEXITED(status))
            log_msg(expected && WEXITSTATUS(status) == 0 ? LOG_NOTICE : LOG_ERR,
                    "worker %d (pid %d) exited with code %d", w->id, (int) pid,
                    WEXITSTATUS(status));
        else if (WIFSIGNALED(status))
            log_msg(expected ? LOG_NOTICE : LOG_ERR,
                    "worker %d (pid %d) killed by signal %d", w->id, (int) pid,
                    WTERMSIG(status));

        master_close_channel(w);
        w->pid = 0;
        metrics_slot_exited((size_t) (w - proc_table));
        /* A new generation that loses a worker before it is ready is given
         * up (the old one serves on); at start there is no old one, so
         * only a worker that says it cannot work (code 2) ends the start,
         * and one that crashed is respawned like any other. */
        if (!expected && M.pending_gen != 0 && w->generation == M.pending_gen
            && (!M.pending_first || cannot_work)) {
            char why[96];
            if (WIFEXITED(status))
                snprintf(why, sizeof(why), "worker %d exited with code %d "
                         "before it was ready", w->id, WEXITSTATUS(status));
            else
                snprintf(why, sizeof(why), "worker %d was killed by signal "
                         "%d before it was ready", w->id,
                         WIFSIGNALED(status) ? WTERMSIG(status) : 0);
            proc_release(w);
            master_pending_abort(why);
        } else if (expected) {
            proc_release(w);
        } else if (cannot_work) {
            log_msg(LOG_CRIT, "worker %d cannot work (exit code 2); not "
                    "respawning it", w->id);
            proc_release(w);
        } else {
            uint64_t now = clock_update();
            uint64_t due = w->spawned_at + MASTER_RESPAWN_MS;
            w->respawn_at = due > now ? due : now;
            master_arm_tick();
        }
    }
}

/* Respawns that are due, SIGKILL for overdue drains and stops. */
static void
master_housekeeping(void)
{
    uint64_t now = clock_update();
    bool pending = false;

    if (M.pending_gen != 0) {
        if (now >= M.pending_deadline)
            master_pending_abort("its workers were not ready in time");
        else
            pending = true;
    }

    for (size_t i = 0; i < proc_count; i++) {
        struct worker_slot *w = &proc_table[i];
        if (!w->in_use)
            continue;
        if (w->pid == 0 && w->respawn_at != 0) {
            if (M.stopping || M.terminating) {
                proc_release(w);
                continue;
            }
            if (now >= w->respawn_at) {
                log_msg(LOG_NOTICE, "respawning worker %d", w->id);
                if (master_spawn(w, &M.cfg) != RC_OK)
                    w->respawn_at = now + MASTER_RESPAWN_MS;
                else
                    metrics_count_restart();
            }
            pending = pending || w->pid == 0;
        }
        if (w->pid != 0 && w->draining) {
            if (now >= w->kill_at) {
                log_msg(LOG_WARN, "worker %d (pid %d) did not finish draining; "
                        "killing it", w->id, (int) w->pid);
                kill(w->pid, SIGKILL);
                w->kill_at = UINT64_MAX;
            }
            pending = true;
        }
    }
    if ((M.stopping || M.terminating) && proc_running() > 0) {
        if (now >= M.kill_at) {
            for (size_t i = 0; i < proc_count; i++) {
                if (proc_table[i].in_use && proc_table[i].pid != 0)
                    kill(proc_table[i].pid, SIGKILL);
            }
            M.kill_at = UINT64_MAX;
        }
        pending = true;
    }
    if (!pending && M.tick_armed) {
        evtimer_del(M.tick);
        M.tick_armed = false;
    }
}

static void
master_tick_cb(evutil_socket_t fd, short what, void *arg)
{
    UNUSED(fd);
    UNUSED(what);
    UNUSED(arg);
    master_housekeeping();
    if (master_done())
        event_base_loopbreak(M.base);
}

static void
master_sample_cb(evutil_socket_t fd, short what, void *arg)
{
    UNUSED(fd);
    UNUSED(what);
    UNUSED(arg);
    metrics_take_sample(clock_update());
}

static void
master_arm_tick(void)
{
    struct timeval tv = { 0, MASTER_TICK_MS * 1000 };

    if (!M.tick_armed) {
        event_add(M.tick, &tv);
        M.tick_armed = true;
    }
}

/* ---- Signals ---- */

static void
master_reload(void)
{
    struct config cfg;
    char err[CONFIG_ERR_MAX];
    bool rebind, tls_rebind;
    int lfd = -1, tls_lfd = -1, tls_fd = dispatch_fd(DISPATCH_TLS);

    if (M.stopping || M.terminating)
        return;
    if (M.pending_gen != 0) {
        /* one at a time: this one runs when the pending one is decided */
        log_msg(LOG_NOTICE, "reload requested while one is in progress; "
                "it follows");
        M.reload_wanted = true;
        return;
    }
    log_msg(LOG_NOTICE, "reloading configuration");
    if (master_config_build(M.opts, &cfg, err, sizeof(err)) != RC_OK) {
        log_msg(LOG_ERR, "%s; keeping the running configuration", err);
        metrics_count_reload(false);
        return;
    }

    /* port 0 takes any port, so the one bound now will do */
    rebind = strcmp(cfg.listen_address, M.cfg.listen_address) != 0
             || (cfg.port != 0
                 && cfg.port != net_local_port(dispatch_listen_fd()));
    if (!rebind && cfg.backlog != M.cfg.backlog
        && listen(dispatch_listen_fd(), cfg.backlog) < 0) {
        /* the same socket takes a new backlog; no second bind needed */
        log_errno(LOG_ERR, errno, "listen() with backlog %d failed; keeping "
                  "the running configuration", cfg.backlog);
        metrics_count_reload(false);
        return;
    }
    if (rebind) {
        lfd = master_listen(&cfg);
        if (lfd < 0) {
            log_msg(LOG_ERR, "cannot listen on %s port %d; keeping the "
                    "running configuration", cfg.listen_address, cfg.port);
            metrics_count_reload(false);
            return;
        }
    }
    /* the TLS port likewise; turned on, it is bound now; turned off, it
     * closes when the new generation takes over */
    tls_rebind = cfg.tls_port >= 0
                 && (tls_fd < 0
                     || strcmp(cfg.listen_address, M.cfg.listen_address) != 0
                     || (cfg.tls_port != 0
                         && cfg.tls_port != net_local_port(tls_fd)));
    if (cfg.tls_port >= 0 && !tls_rebind) {
        cfg.tls_bound_port = net_local_port(tls_fd);
        if (cfg.backlog != M.cfg.backlog && listen(tls_fd, cfg.backlog) < 0)
            log_errno(LOG_WARN, errno, "listen() with backlog %d failed on "
                      "the TLS port", cfg.backlog);
    }
    if (tls_rebind) {
        tls_lfd = master_listen_tls(&cfg);
        if (tls_lfd < 0) {
            log_msg(LOG_ERR, "cannot listen on %s port %d; keeping the "
                    "running configuration", cfg.listen_address,
                    cfg.tls_port);
            if (lfd >= 0) {
                close(lfd);
                master_write_port_file(&M.cfg,
                                       net_local_port(dispatch_listen_fd()));
            }
            metrics_count_reload(false);
            return;
        }
    }
    /* the old generation serves until the new one is ready */
    if (master_pending_start(&cfg, lfd, tls_lfd, false) == RC_OK)
        log_msg(LOG_NOTICE, "generation %u starting", M.generation);
}

static void
master_stop(bool fast)
{
    uint64_t now = clock_update();

    if (fast && M.terminating)
        return;
    if (!fast && (M.stopping || M.terminating))
        return;
    dispatch_stop();
    M.pending_gen = 0;
    M.reload_wanted = false;
    if (M.pending_lfd >= 0) {
        close(M.pending_lfd);
        M.pending_lfd = -1;
    }
    if (M.pending_tls_lfd >= 0) {
        close(M.pending_tls_lfd);
        M.pending_tls_lfd = -1;
    }
    if (fast) {
        M.terminating = true;
        M.kill_at = now + MASTER_TERM_KILL_MS;
        log_msg(LOG_NOTICE, "fast shutdown");
    } else {
        M.stopping = true;
        M.kill_at = now + (uint64_t) M.cfg.shutdown_timeout + MASTER_DRAIN_GRACE_MS;
        log_msg(LOG_NOTICE, "graceful shutdown");
    }
    for (size_t i = 0; i < proc_count; i++) {
        struct worker_slot *w = &proc_table[i];
        if (!w->in_use || w->pid == 0)
            continue;
        if (fast)
            kill(w->pid, SIGTERM);
        else if (!w->draining)
            master_tell(w, CHAN_QUIT, CHAN_QUIT_STOP, SIGQUIT);
        w->draining = true;
        metrics_slot_draining((size_t) (w - proc_table));
        if (w->kill_at == 0 || w->kill_at > M.kill_at)
            w->kill_at = M.kill_at;
    }
    master_arm_tick();
}

static void
master_signal_cb(evutil_socket_t sig, short what, void *arg)
{
    UNUSED(what);
    UNUSED(arg);
    switch (sig) {
    case SIGHUP:
        master_reload();
        break;
    case SIGQUIT:
        master_stop(false);
        break;
    case SIGTERM:
    case SIGINT:
        master_stop(true);
        break;
    case SIGUSR1:
        log_msg(LOG_NOTICE, "reopening logs");
        log_reopen();
        for (size_t i = 0; i < proc_count; i++) {
            if (proc_table[i].in_use && proc_table[i].pid != 0)
                master_tell(&proc_table[i], CHAN_REOPEN, 0, SIGUSR1);
        }
        break;
    case SIGCHLD:
        master_reap();
        master_housekeeping();
        break;
    }
    if (master_done())
        event_base_loopbreak(M.base);
}

/* ---- Run ---- */

static void
master_signal_mask(int how)
{
    sigset_t set;

    sigemptyset(&set);
    for (size_t i = 0; i < ARRAY_SIZE(master_signals); i++)
        sigaddset(&set, master_signals[i]);
    sigprocmask(how, &set, NULL);
}

void
master_block_signals(void)
{
    master_signal_mask(SIG_BLOCK);
}

/* libevent's own messages go to our log. Workers inherit this callback; the
 * note that a worker's new base took over signal handling from the
 * master's (inherited, unused) base is expected there, so it is DEBUG. */
static void
master_evlog(int severity, const char *msg)
{
    int level;

    switch (severity) {
    case EVENT_LOG_DEBUG: level = LOG_DEBUG; break;
    case EVENT_LOG_MSG:   level = LOG_INFO; break;
    case EVENT_LOG_WARN:  level = LOG_WARN; break;
    default:              level = LOG_ERR; break;
    }
    if (strstr(msg, "Added a signal to event base") != NULL)
        level = LOG_DEBUG;
    log_msg(level, "libevent: %s", msg);
}

int
master_run(const struct master_opts *o, const struct config *cfg, int lfd,
           int tls_lfd)
{
    struct sigaction sa;

    M.opts = o;
    M.cfg = *cfg;
    event_set_log_callback(master_evlog);

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);

    M.base = event_base_new();
    if (M.base == NULL) {
        log_msg(LOG_CRIT, "event_base_new() failed");
        close(lfd);
        if (tls_lfd >= 0)
            close(tls_lfd);
        return 2;
    }
    for (size_t i = 0; i < ARRAY_SIZE(master_signals); i++) {
        M.sig[i] = evsignal_new(M.base, master_signals[i], master_signal_cb, NULL);
        if (M.sig[i] == NULL || event_add(M.sig[i], NULL) < 0) {
            log_msg(LOG_CRIT, "cannot watch signal %d", master_signals[i]);
            return 2;
        }
    }
    /* libevent's handlers are in place: what came in meanwhile is
     * delivered now and handled on the first loop turn */
    master_signal_mask(SIG_UNBLOCK);
    M.tick = event_new(M.base, -1, EV_PERSIST, master_tick_cb, NULL);
    if (M.tick == NULL)
        return 2;
    /* the counters live in a mapping every worker inherits */
    if (metrics_map(PROC_MAX) != RC_OK)
        return 2;
    M.sample = event_new(M.base, -1, EV_PERSIST, master_sample_cb, NULL);
    {
        struct timeval tv = { MASTER_SAMPLE_MS / 1000,
                              (MASTER_SAMPLE_MS % 1000) * 1000 };
        if (M.sample == NULL || event_add(M.sample, &tv) < 0)
            return 2;
    }
    metrics_take_sample(clock_update());
    dispatch_set_broken_cb(master_channel_broken);
    clock_update();
    /* connections wait in the listen queue until a worker is ready */
    if (master_pending_start(cfg, lfd, tls_lfd, true) != RC_OK
        && proc_running() == 0)
        return 2;

    event_base_dispatch(M.base);

    dispatch_stop();
    for (size_t i = 0; i < ARRAY_SIZE(master_signals); i++)
        event_free(M.sig[i]);
    event_free(M.tick);
    event_free(M.sample);
    for (size_t i = 0; i < proc_count; i++) {
        if (proc_table[i].in_use)
            master_close_channel(&proc_table[i]);
    }
    event_base_free(M.base);
    log_msg(LOG_NOTICE, "exit");
    return M.exit_code;
}
