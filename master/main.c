/* main.c - entry point: command line, config, listen socket, pid file,
 * daemon mode, then master_run(). Exit codes: 0 clean stop, 1 bad arguments
 * or configuration, 2 runtime failure at start.
 * SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "defs.h"
#include "log.h"
#include "master.h"
#include "net.h"

static void
usage(FILE *out)
{
    fprintf(out,
        "usage: webserver [-c FILE] [-r DIR] [-d] [-t] [-s SIGNAL] [-V] [-h]\n"
        "                 [ADDRESS PORT PROCESSES [MAX_CONNS_PER_PROCESS]]\n"
        "\n"
        "  -c FILE     configuration file (default: built-in defaults)\n"
        "  -r DIR      document root (overrides \"root\")\n"
        "  -d          run as a daemon\n"
        "  -t          check the configuration and exit\n"
        "  -s SIGNAL   send reload, stop, quit or reopen to the running master\n"
        "              found through pid_file\n"
        "  -V          print the version and exit\n"
        "  -h          print this help and exit\n"
        "\n"
        "  ADDRESS PORT PROCESSES [MAX_CONNS] override listen_address, port,\n"
        "  processes and max_connections; PORT 0 binds an ephemeral port.\n");
}

static int
send_signal(const struct config *cfg, const char *name)
{
    static const struct { const char *name; int sig; } sigs[] = {
        { "reload", SIGHUP }, { "stop", SIGTERM },
        { "quit", SIGQUIT }, { "reopen", SIGUSR1 },
    };
    int sig = 0;
    long pid;
    FILE *f;

    for (size_t i = 0; i < ARRAY_SIZE(sigs); i++) {
        if (strcmp(name, sigs[i].name) == 0)
            sig = sigs[i].sig;
    }
    if (sig == 0) {
        fprintf(stderr, "webserver: unknown signal \"%s\" (reload, stop, quit, "
                "reopen)\n", name);
        return 1;
    }
    if (cfg->pid_file[0] == '\0') {
        fprintf(stderr, "webserver: -s needs pid_file in the configuration\n");
        return 1;
    }
    f = fopen(cfg->pid_file, "re");
    if (f == NULL) {
        fprintf(stderr, "webserver: cannot open pid_file \"%s\": %s\n",
                cfg->pid_file, strerror(errno));
        return 1;
    }
    if (fscanf(f, "%ld", &pid) != 1 || pid <= 1) {
        fclose(f);
        fprintf(stderr, "webserver: pid_file \"%s\" holds no pid\n", cfg->pid_file);
        return 1;
    }
    fclose(f);
    if (kill((pid_t) pid, sig) < 0) {
        fprintf(stderr, "webserver: kill(%ld, %s) failed: %s\n", pid, name,
                strerror(errno));
        return 1;
    }
    return 0;
}

static int
write_pid_file(const char *path)
{
    char tmp[CONFIG_PATH_MAX + 16];
    FILE *f;

    if (path[0] == '\0')
        return RC_OK;
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "we");
    if (f == NULL || fprintf(f, "%d\n", (int) getpid()) < 0 || fclose(f) != 0
        || rename(tmp, path) < 0) {
        log_errno(LOG_CRIT, errno, "cannot write pid_file \"%s\"", path);
        return RC_ERR;
    }
    return RC_OK;
}

/* Detach from the terminal. The launching process exits 0 once the daemon
 * runs; errors before this point still reach the caller's terminal. */
static int
daemonize(void)
{
    pid_t pid = fork();
    int fd;

    if (pid < 0) {
        log_errno(LOG_CRIT, errno, "fork() failed");
        return RC_ERR;
    }
    if (pid > 0)
        _exit(0);
    if (setsid() < 0) {
        log_errno(LOG_CRIT, errno, "setsid() failed");
        return RC_ERR;
    }
    pid = fork();       /* never a session leader: no controlling tty again */
    if (pid < 0) {
        log_errno(LOG_CRIT, errno, "fork() failed");
        return RC_ERR;
    }
    if (pid > 0)
        _exit(0);
    umask(022);
    fd = open("/dev/null", O_RDWR);
    if (fd >= 0) {
        dup2(fd, STDIN_FILENO);
        dup2(fd, STDOUT_FILENO);
        /* stderr follows the error log, or /dev/null when that is stderr */
        dup2(log_fd() != STDERR_FILENO ? log_fd() : fd, STDERR_FILENO);
        if (fd > STDERR_FILENO)
            close(fd);
    }
    return RC_OK;
}

int
main(int argc, char **argv)
{
    struct master_opts o;
    struct config cfg;
    char err[CONFIG_ERR_MAX];
    const char *sig = NULL;
    bool test = false;
    int c, lfd, tls_lfd = -1, rc, npos;

    /* The signals the master handles stay blocked until its event loop
     * watches them (master_run() unblocks them): one that arrives while
     * the listen socket and port_file already exist but the handlers do
     * not yet waits instead of killing us with its default action. */
    master_block_signals();

    memset(&o, 0, sizeof(o));
    while ((c = getopt(argc, argv, "c:r:dts:Vh")) != -1) {
        switch (c) {
        case 'c': o.conf_path = optarg; break;
        case 'r': o.root = optarg; break;
        case 'd': o.daemon = 1; break;
        case 't': test = true; break;
        case 's': sig = optarg; break;
        case 'V':
            printf("%s/%s\n", WEBSERVER_NAME, WEBSERVER_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 1;
        }
    }
    npos = argc - optind;
    if (npos != 0 && npos != 3 && npos != 4) {
        fprintf(stderr, "webserver: expected ADDRESS PORT PROCESSES "
                "[MAX_CONNS], got %d positional argument(s)\n", npos);
        usage(stderr);
        return 1;
    }
    if (npos >= 3) {
        o.address = argv[optind];
        o.port = argv[optind + 1];
        o.processes = argv[optind + 2];
        if (npos == 4)
            o.max_conns = argv[optind + 3];
    }

    if (master_config_build(&o, &cfg, err, sizeof(err)) != RC_OK) {
        fprintf(stderr, "webserver: %s\n", err);
        return 1;
    }
    if (test) {
        printf("configuration ok\n");
        return 0;
    }
    if (sig != NULL)
        return send_signal(&cfg, sig);

    log_set_level(cfg.log_level);
    if (log_open(cfg.error_log) != RC_OK) {
        fprintf(stderr, "webserver: cannot open error_log \"%s\"\n", cfg.error_log);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    net_raise_nofile(NET_FD_NEED(cfg.max_connections));

    lfd = master_listen(&cfg);
    if (lfd < 0)
        return 2;
    if (cfg.tls_port >= 0) {
        tls_lfd = master_listen_tls(&cfg);
        if (tls_lfd < 0)
            return 2;
    }
    if (cfg.daemon && daemonize() != RC_OK)
        return 2;
    if (write_pid_file(cfg.pid_file) != RC_OK)
        return 2;

    rc = master_run(&o, &cfg, lfd, tls_lfd);
    if (cfg.pid_file[0] != '\0')
        unlink(cfg.pid_file);
    return rc;
}
