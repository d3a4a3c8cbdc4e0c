/* proc.h - the master's table of worker processes.
 * Master only. A slot is free (pid == 0) or holds one forked worker of some
 * generation; the master's end of that worker's channel lives here too.
 * SPDX-License-Identifier: MIT */
#ifndef MASTER_PROC_H
#define MASTER_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROC_MAX 512

struct event;

struct worker_slot {
    bool          in_use;       /* a process runs here or a respawn is due */
    pid_t         pid;          /* 0: no process now */
    int           chan_fd;      /* master's end; -1 once closed */
    struct event *chan_ev;      /* EV_READ on chan_fd (load reports, EOF) */
    struct event *chan_wev;     /* EV_WRITE on chan_fd while it is full
                                 * (dispatch.c); NULL until first needed */
    int           id;           /* number in "[worker N]" */
    unsigned      generation;   /* reload generation it belongs to */
    int           active;       /* conns sent minus conns reported finished */
    int           max_conns;    /* its generation's max_connections */
    bool          alive;        /* running with an open channel */
    bool          ready;        /* said CHAN_READY: set up and serving */
    bool          draining;     /* told to quit; takes no new conns */
    bool          chan_full;    /* a send hit EAGAIN; until it is writable */
    uint64_t      spawned_at;   /* monotonic ms, for the respawn rate limit */
    uint64_t      respawn_at;   /* monotonic ms; 0: no respawn pending */
    uint64_t      kill_at;      /* monotonic ms to SIGKILL a draining worker */
};

/* The table; slots [0, proc_count) may be in use. */
extern struct worker_slot proc_table[PROC_MAX];
extern size_t proc_count;

/* A free slot (!in_use), now in use with chan_fd -1; NULL when full. */
struct worker_slot *proc_alloc(void);

/* The slot of PID, or NULL. */
struct worker_slot *proc_find(pid_t pid);

/* Count slots with a process (pid != 0). */
size_t proc_running(void);

/* Mark a slot unused and shrink proc_count past trailing unused slots. The
 * caller has closed the channel and freed the event, and the slot's
 * process (if it had one) has exited: its metrics are folded into the
 * totals here. */
void proc_release(struct worker_slot *w);

#endif
