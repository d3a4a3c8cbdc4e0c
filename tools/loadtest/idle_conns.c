/* idle_conns.c - open COUNT keep-alive connections, send one GET on each,
 * read the whole response, then hold every socket open, idle, until SIGTERM,
 * SIGINT, or HOLD_SECONDS (default 600, a safety net should the caller
 * vanish). Used by tools/loadtest.sh to measure what an idle keep-alive
 * connection costs a server (worker RSS before and after).
 *
 *   idle_conns HOST PORT PATH COUNT [TIMEOUT_SECONDS [HOLD_SECONDS]]
 *
 * At most MAX_INFLIGHT connections are connecting or waiting for their
 * response at once, so a listen backlog never overflows. Once every
 * connection has its response (or the timeout passed) it prints one line,
 *   ready ok=N failed=M
 * flushes stdout and waits. Exit status: 0 after a signal or the hold time,
 * 1 on a setup failure, 2 on bad arguments. Plain C + POSIX + epoll (Linux);
 * IPv4 only.
 * SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_INFLIGHT 256
#define HDR_MAX      4096

enum state {
    ST_FREE, ST_CONNECTING, ST_SENDING, ST_READING, ST_IDLE, ST_FAILED
};

struct conn {
    int         fd;
    enum state  st;
    size_t      sent;
    char       *hdr;        /* response head while reading, then freed */
    size_t      hlen;
    long long   body_left;  /* -1 until the head is parsed */
};

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
    (void) sig;
    stop = 1;
}

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
conn_fail(struct conn *c, int ep, int *inflight, int *failed)
{
    if (c->fd >= 0) {
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        c->fd = -1;
    }
    free(c->hdr);
    c->hdr = NULL;
    c->st = ST_FAILED;
    (*inflight)--;
    (*failed)++;
}

/* Parse the head in c->hdr once "\r\n\r\n" is there. Returns 1 when parsed
 * (body_left set, the bytes after the head subtracted), 0 when more is
 * needed, -1 on a malformed head or a status other than 200. */
static int
parse_head(struct conn *c)
{
    char *end, *p, *line;
    long long clen = -1;
    size_t head_len;
    int status;

    c->hdr[c->hlen] = '\0';
    end = strstr(c->hdr, "\r\n\r\n");
    if (end == NULL)
        return c->hlen >= HDR_MAX - 1 ? -1 : 0;
    head_len = (size_t) (end - c->hdr) + 4;
    if (sscanf(c->hdr, "HTTP/1.%*d %d", &status) != 1 || status != 200)
        return -1;
    *end = '\0';
    for (line = strstr(c->hdr, "\r\n"); line != NULL;
         line = strstr(line + 2, "\r\n")) {
        p = line + 2;
        if (strncasecmp(p, "Content-Length:", 15) == 0)
            clen = strtoll(p + 15, NULL, 10);
    }
    if (clen < 0)
        return -1;
    c->body_left = clen - (long long) (c->hlen - head_len);
    return 1;
}

int
main(int argc, char **argv)
{
    struct sockaddr_in sa;
    struct epoll_event ev, evs[512];
    struct conn *conns;
    char req[1024], scratch[65536];
    int count, ep, inflight = 0, next = 0, ok = 0, failed = 0, reqlen, n, i;
    double deadline, timeout = 60, hold = 600;
    struct rlimit rl;

    if (argc < 5 || argc > 7) {
        fprintf(stderr, "usage: idle_conns HOST PORT PATH COUNT "
                "[TIMEOUT_SECONDS [HOLD_SECONDS]]\n");
        return 2;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short) atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
        fprintf(stderr, "idle_conns: bad IPv4 address \"%s\"\n", argv[1]);
        return 2;
    }
    count = atoi(argv[4]);
    if (count <= 0) {
        fprintf(stderr, "idle_conns: bad COUNT \"%s\"\n", argv[4]);
        return 2;
    }
    if (argc >= 6)
        timeout = atof(argv[5]);
    if (argc >= 7)
        hold = atof(argv[6]);
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
        && (rlim_t) count + 16 > rl.rlim_cur) {
        fprintf(stderr, "idle_conns: COUNT %d needs more descriptors than "
                "the limit %llu (raise ulimit -n)\n", count,
                (unsigned long long) rl.rlim_cur);
        return 1;
    }
    reqlen = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s:%s\r\n"
                      "User-Agent: idle_conns\r\n\r\n",
                      argv[3], argv[1], argv[2]);
    if (reqlen <= 0 || (size_t) reqlen >= sizeof(req)) {
        fprintf(stderr, "idle_conns: PATH too long\n");
        return 2;
    }
    conns = calloc((size_t) count, sizeof(*conns));
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (conns == NULL || ep < 0) {
        perror("idle_conns: setup");
        return 1;
    }
    for (i = 0; i < count; i++)
        conns[i].fd = -1;
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);

    deadline = now_s() + timeout;
    while (!stop && ok + failed < count && now_s() < deadline) {
        /* top up the connections in flight */
        while (next < count && inflight < MAX_INFLIGHT) {
            struct conn *c = &conns[next];
            int fd = socket(AF_INET,
                            SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

            c->body_left = -1;
            if (fd < 0) {
                perror("idle_conns: socket");
                c->st = ST_FAILED;
                failed++;
                next++;
                continue;
            }
            c->fd = fd;
            inflight++;
            if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0
                && errno != EINPROGRESS) {
                conn_fail(c, ep, &inflight, &failed);
                next++;
                continue;
            }
            c->st = ST_CONNECTING;
            ev.events = EPOLLOUT | EPOLLIN;
            ev.data.u32 = (uint32_t) next;
            if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
                perror("idle_conns: epoll_ctl");
                return 1;
            }
            next++;
        }
        n = epoll_wait(ep, evs, (int) (sizeof(evs) / sizeof(evs[0])), 100);
        if (n < 0 && errno != EINTR) {
            perror("idle_conns: epoll_wait");
            return 1;
        }
        for (i = 0; i < n; i++) {
            struct conn *c = &conns[evs[i].data.u32];
            ssize_t r;

            if (c->st == ST_CONNECTING) {
                int err = 0;
                socklen_t len = sizeof(err);

                if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0
                    || err != 0) {
                    conn_fail(c, ep, &inflight, &failed);
                    continue;
                }
                c->st = ST_SENDING;
            }
            if (c->st == ST_SENDING) {
                r = send(c->fd, req + c->sent, (size_t) reqlen - c->sent, 0);
                if (r < 0 && errno != EAGAIN) {
                    conn_fail(c, ep, &inflight, &failed);
                    continue;
                }
                if (r > 0)
                    c->sent += (size_t) r;
                if (c->sent < (size_t) reqlen)
                    continue;
                c->st = ST_READING;
                c->hdr = malloc(HDR_MAX);
                if (c->hdr == NULL) {
                    conn_fail(c, ep, &inflight, &failed);
                    continue;
                }
                ev.events = EPOLLIN;
                ev.data.u32 = evs[i].data.u32;
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                continue;
            }
            if (c->st != ST_READING)
                continue;
            for (;;) {
                if (c->body_left < 0) {
                    r = recv(c->fd, c->hdr + c->hlen, HDR_MAX - 1 - c->hlen, 0);
                } else {
                    size_t want = c->body_left < (long long) sizeof(scratch)
                                  ? (size_t) c->body_left : sizeof(scratch);
                    r = want > 0 ? recv(c->fd, scratch, want, 0) : 0;
                    if (want == 0)
                        break;
                }
                if (r < 0 && errno == EAGAIN)
                    break;
                if (r <= 0) {
                    conn_fail(c, ep, &inflight, &failed);
                    break;
                }
                if (c->body_left < 0) {
                    int rc;

                    c->hlen += (size_t) r;
                    rc = parse_head(c);
                    if (rc < 0 || (rc > 0 && c->body_left < 0)) {
                        conn_fail(c, ep, &inflight, &failed);
                        break;
                    }
                } else {
                    c->body_left -= r;
                }
                if (c->body_left == 0)
                    break;
            }
            if (c->st == ST_READING && c->body_left == 0) {
                /* done: keep the socket open and stop watching it */
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                free(c->hdr);
                c->hdr = NULL;
                c->st = ST_IDLE;
                inflight--;
                ok++;
            }
        }
    }
    failed = count - ok;
    printf("ready ok=%d failed=%d\n", ok, failed);
    fflush(stdout);

    /* hold until a signal, or the hold time as a safety net */
    deadline = now_s() + hold;
    while (!stop && now_s() < deadline)
        usleep(50 * 1000);
    for (i = 0; i < count; i++) {
        if (conns[i].fd >= 0)
            close(conns[i].fd);
    }
    return 0;
}
