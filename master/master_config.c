/* master_config.c - the master's side of a configuration: build and check
 * one (command line over file, log paths writable), bind its listen
 * sockets, write the port files (see master.h). Used at start (main.c)
 * and on every reload (master.c). Master only.
 * SPDX-License-Identifier: MIT */
#include "master.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "defs.h"
#include "log.h"
#include "net.h"
#include "proc.h"      /* PROC_MAX */
#include "tls_check.h"

/* ---- Configuration ---- */

/* Can a worker open log PATH (KEY) for appending? Creates it if missing, as
 * the worker would. Returns RC_OK, or RC_ERR with "FILE:LINE: ..." in ERR. */
static int
master_check_log(const struct config *cfg, const char *key, const char *path,
                 char *err, size_t errlen)
{
    char where[CONFIG_PATH_MAX + 16];
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);

    if (fd < 0) {
        snprintf(err, errlen, "%s: %s \"%s\" cannot be opened: %s",
                 config_where(cfg, key, where, sizeof(where)), key, path,
                 strerror(errno));
        return RC_ERR;
    }
    close(fd);
    return RC_OK;
}

int
master_config_build(const struct master_opts *o, struct config *cfg,
                    char *err, size_t errlen)
{
    char msg[CONFIG_ERR_MAX], real[PATH_MAX], where[CONFIG_PATH_MAX + 16];
    struct stat st;
    static const struct { const char *key; size_t off; const char *what; }
    over[] = {
        { "listen_address",  offsetof(struct master_opts, address),   "ADDRESS" },
        { "port",            offsetof(struct master_opts, port),      "PORT" },
        { "processes",       offsetof(struct master_opts, processes), "PROCESSES" },
        { "max_connections", offsetof(struct master_opts, max_conns), "MAX_CONNS" },
        { "root",            offsetof(struct master_opts, root),      "-r" },
    };

    config_defaults(cfg);
    if (o->conf_path != NULL
        && config_load(cfg, o->conf_path, err, errlen) != RC_OK)
        return RC_ERR;

    for (size_t i = 0; i < ARRAY_SIZE(over); i++) {
        const char *v = *(const char *const *) ((const char *) o + over[i].off);
        if (v != NULL && config_set(cfg, over[i].key, v, msg, sizeof(msg)) != RC_OK) {
            snprintf(err, errlen, "%s: %s", over[i].what, msg);
            return RC_ERR;
        }
    }
    if (o->daemon)
        cfg->daemon = true;
    if (config_check(cfg, msg, sizeof(msg)) != RC_OK) {
        snprintf(err, errlen, "%s: %s", o->conf_path ? o->conf_path : "config", msg);
        return RC_ERR;
    }

    if (realpath(cfg->root, real) == NULL || stat(real, &st) < 0
        || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: root \"%s\" is not a directory",
                 config_where(cfg, "root", where, sizeof(where)), cfg->root);
        return RC_ERR;
    }
    if (strlen(real) >= sizeof(cfg->root)) {
        snprintf(err, errlen, "%s: root \"%s\" is too long",
                 config_where(cfg, "root", where, sizeof(where)), real);
        return RC_ERR;
    }
    strcpy(cfg->root, real);
    if (access(cfg->root, R_OK | X_OK) < 0) {
        snprintf(err, errlen, "%s: root \"%s\": %s",
                 config_where(cfg, "root", where, sizeof(where)), cfg->root,
                 strerror(errno));
        return RC_ERR;
    }

    /* What a worker opens at start is tried here, so that -t and a reload
     * name the file and line, instead of a generation of workers that all
     * exit with code 2 */
    if (strcmp(cfg->error_log, "stderr") != 0
        && master_check_log(cfg, "error_log", cfg->error_log, err, errlen) != RC_OK)
        return RC_ERR;
    if (strcmp(cfg->access_log, "off") != 0
        && master_check_log(cfg, "access_log", cfg->access_log, err, errlen) != RC_OK)
        return RC_ERR;

    if (cfg->tls_port >= 0) {
        if (cfg->tls_certificate[0] == '\0'
            || cfg->tls_certificate_key[0] == '\0') {
            snprintf(err, errlen, "%s: tls_port needs tls_certificate and "
                     "tls_certificate_key",
                     config_where(cfg, "tls_port", where, sizeof(where)));
            return RC_ERR;
        }
        if (cfg->port != 0 && cfg->tls_port == cfg->port) {
            snprintf(err, errlen, "%s: tls_port is the same as port",
                     config_where(cfg, "tls_port", where, sizeof(where)));
            return RC_ERR;
        }
        if (tls_check(cfg, err, errlen) != RC_OK)
            return RC_ERR;
        /* a new generation gets new keys: tickets of the old one make a
         * full handshake (rotation on reload) */
        if (tls_check_new_ticket_keys(cfg, err, errlen) != RC_OK)
            return RC_ERR;
    }

    if (cfg->processes == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        cfg->processes = n > 0 ? (int) (n < PROC_MAX / 2 ? n : PROC_MAX / 2) : 1;
    }
    return RC_OK;
}

/* Write the bound port to PATH (port_file, tls_port_file) atomically
 * (tests poll for it). */
void
master_write_port_path(const char *path, int port)
{
    char tmp[CONFIG_PATH_MAX + 16];
    FILE *f;

    if (path[0] == '\0')
        return;
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "we");
    if (f == NULL || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0
        || rename(tmp, path) < 0)
        log_errno(LOG_ERR, errno, "cannot write \"%s\"", path);
}

void
master_write_port_file(const struct config *cfg, int port)
{
    master_write_port_path(cfg->port_file, port);
}

int
master_listen(const struct config *cfg)
{
    int port, fd;

    fd = net_listen(cfg->listen_address, cfg->port, cfg->backlog, &port);
    if (fd < 0)
        return RC_ERR;
    master_write_port_file(cfg, port);
    log_msg(LOG_NOTICE, "listening on %s port %d", cfg->listen_address, port);
    return fd;
}

int
master_listen_tls(struct config *cfg)
{
    int port, fd;

    fd = net_listen(cfg->listen_address, cfg->tls_port, cfg->backlog, &port);
    if (fd < 0)
        return RC_ERR;
    cfg->tls_bound_port = port;
    master_write_port_path(cfg->tls_port_file, port);
    log_msg(LOG_NOTICE, "listening on %s port %d (TLS)", cfg->listen_address,
            port);
    return fd;
}
