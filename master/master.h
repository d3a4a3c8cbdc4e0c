/* master.h - the master process: config building, listen socket, worker
 * generations, signals, reload and shutdown. Master only; single-threaded
 * libevent loop; signal handlers only queue libevent callbacks.
 * SPDX-License-Identifier: MIT */
#ifndef MASTER_MASTER_H
#define MASTER_MASTER_H

#include <stddef.h>

#include "config.h"

/* What the command line said; re-applied on every reload so positional
 * arguments keep overriding the file. Borrowed strings (argv). */
struct master_opts {
    const char *conf_path;      /* -c FILE, or NULL for built-in defaults */
    const char *root;           /* -r DIR, or NULL */
    const char *address;        /* positional overrides, or NULL */
    const char *port;
    const char *processes;
    const char *max_conns;
    int         daemon;         /* -d */
};

/* Defaults, then the file, then the overrides; checks, resolves root to an
 * absolute directory and processes 0 to the CPU count. Returns RC_OK, or
 * RC_ERR with "FILE:LINE: message" (or a plain message) in ERR. Never logs. */
int master_config_build(const struct master_opts *o, struct config *cfg,
                        char *err, size_t errlen);

/* Bind the configured address; writes port_file if set. Returns the fd
 * (owned by the caller) or RC_ERR (logged). */
int master_listen(const struct config *cfg);

/* Bind tls_port (on); writes tls_port_file if set and stores the bound
 * port in CFG->tls_bound_port. Returns the fd (owned by the caller) or
 * RC_ERR (logged). */
int master_listen_tls(struct config *cfg);

/* Write PORT to the file PATH ("": none) atomically (tests poll for it);
 * a failure is logged, not fatal. master_write_port_file(): to CFG's port_file. (master_config.c) */
void master_write_port_path(const char *path, int port);
void master_write_port_file(const struct config *cfg, int port);

/* Block the signals the master handles (HUP, QUIT, TERM, INT, USR1, CHLD)
 * until master_run() watches them. Call first thing in main(). */
void master_block_signals(void);

/* Run the master on LFD and TLS_LFD (-1: no HTTPS; ownership passes to
 * the master) until a stop signal and the last worker has exited. Returns
 * the process exit code. */
int master_run(const struct master_opts *o, const struct config *cfg, int lfd,
               int tls_lfd);

#endif
