/* minimal.c - the smallest HTTP/1.1 server that answers wrk's 1 KiB
 * requests: a limit to measure real servers against, used by
 * tools/loadtest.sh in scenarios 1, 2, 4 and 12. Not a server to use.
 *
 *   minimal PORT PROCESSES BODY_FILE
 *
 * The parent forks PROCESSES children and only waits for them; each child
 * binds its own SO_REUSEPORT listen socket on 127.0.0.1:PORT (backlog 4096,
 * so the kernel spreads new connections over the children) and runs one
 * level-triggered epoll loop. Every request gets the same answer: "200 OK",
 * Content-Type text/html, the Content-Length of BODY_FILE (read once at
 * start, at most 64 KiB) and its bytes. There is no parser: a recv() that
 * holds N header terminators ("\r\n\r\n") is N requests (wrk sends one at a
 * time, no bodies), answered by one send() each. A request that contains
 * "Connection: close" is answered with "Connection: close" and the
 * connection is closed; a connection whose send() would block or fails is
 * closed too (a 1 KiB answer always fits the socket buffer of a reading
 * client). Per connection: accept4(), TCP_NODELAY (as every server
 * measured beside it sets), epoll_ctl(ADD), close(). No timeouts, no
 * logging, no files opened per request.
 *
 * SIGTERM or SIGINT to the parent stops the children and then the parent;
 * a child that dies makes the parent stop the others and exit 1.
 * Exit status: 0 after a signal, 1 on a setup failure, 2 on bad arguments.
 * Plain C + POSIX + epoll (Linux); IPv4 only.
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
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_PROCS   64
#define BODY_MAX    65536
#define RECV_MAX    8192
#define EVENTS_MAX  256

static const char close_hdr[] = "Connection: close";

/* The two answers, built once before fork: keep-alive and close. */
static char *answer_keep, *answer_close;
static size_t answer_keep_len, answer_close_len;

static volatile sig_atomic_t stop_flag;

static void
on_stop(int sig)
{
    (void)sig;
    stop_flag = 1;
}

/* Read BODY_FILE and build both answers. Returns 0, or -1 with a message. */
static int
minimal_build_answers(const char *path)
{
    static char body[BODY_MAX];
    static const char fmt[] = "HTTP/1.1 200 OK\r\n"
                              "Content-Type: text/html\r\n"
                              "Content-Length: %zu\r\n"
                              "%s\r\n";
    char head[256];
    size_t n = 0;
    ssize_t r;
    int fd, h;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        perror(path);
        return -1;
    }
    while (n < sizeof(body) && (r = read(fd, body + n, sizeof(body) - n)) > 0)
        n += (size_t)r;
    close(fd);

    h = snprintf(head, sizeof(head), fmt, n, "");
    answer_keep = malloc((size_t)h + n);
    memcpy(answer_keep, head, (size_t)h);
    memcpy(answer_keep + h, body, n);
    answer_keep_len = (size_t)h + n;

    h = snprintf(head, sizeof(head), fmt, n, "Connection: close\r\n");
    answer_close = malloc((size_t)h + n);
    memcpy(answer_close, head, (size_t)h);
    memcpy(answer_close + h, body, n);
    answer_close_len = (size_t)h + n;
    return answer_keep && answer_close ? 0 : -1;
}

/* Answer every request in buf[0..n). Returns 1 when the connection must
 * close (asked for, or a send that did not go out whole), else 0. */
static int
minimal_answer(int fd, const char *buf, size_t n)
{
    const char *p = buf, *end = buf + n, *term;
    int closing;
    ssize_t w;

    while (p < end && (term = memmem(p, (size_t)(end - p), "\r\n\r\n", 4))) {
        closing = memmem(p, (size_t)(term - p), close_hdr,
                         sizeof(close_hdr) - 1) != NULL;
        if (closing)
            w = send(fd, answer_close, answer_close_len, MSG_NOSIGNAL);
        else
            w = send(fd, answer_keep, answer_keep_len, MSG_NOSIGNAL);
        if (closing || w != (ssize_t)(closing ? answer_close_len
                                              : answer_keep_len))
            return 1;
        p = term + 4;
    }
    return 0;
}

/* One child: its own listen socket and epoll loop until SIGTERM. */
static int
minimal_child(int port)
{
    struct epoll_event ev, evs[EVENTS_MAX];
    struct sockaddr_in sa;
    char buf[RECV_MAX];
    int lfd, ep, one = 1, i, n, fd;
    ssize_t r;

    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (lfd < 0
        || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0
        || setsockopt(lfd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) {
        perror("socket");
        return 1;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0
        || listen(lfd, 4096) < 0) {
        perror("bind/listen");
        return 1;
    }
    ep = epoll_create1(EPOLL_CLOEXEC);
    ev.events = EPOLLIN;
    ev.data.fd = lfd;
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0) {
        perror("epoll");
        return 1;
    }
    for (;;) {
        n = epoll_wait(ep, evs, EVENTS_MAX, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("epoll_wait");
            return 1;
        }
        for (i = 0; i < n; i++) {
            fd = evs[i].data.fd;
            if (fd == lfd) {
                while ((fd = accept4(lfd, NULL, NULL,
                                     SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
                               sizeof(one));
                    ev.events = EPOLLIN;
                    ev.data.fd = fd;
                    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
                        close(fd);
                }
                continue;
            }
            r = recv(fd, buf, sizeof(buf), 0);
            if (r < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            /* close() drops the fd from the epoll set as well */
            if (r <= 0 || minimal_answer(fd, buf, (size_t)r))
                close(fd);
        }
    }
}

int
main(int argc, char **argv)
{
    pid_t kids[MAX_PROCS], pid;
    struct sigaction sa;
    int port, procs, i, st, rc = 0, live;

    if (argc != 4 || (port = atoi(argv[1])) <= 0 || port > 65535
        || (procs = atoi(argv[2])) <= 0 || procs > MAX_PROCS) {
        fprintf(stderr, "usage: minimal PORT PROCESSES BODY_FILE\n");
        return 2;
    }
    if (minimal_build_answers(argv[3]) < 0)
        return 1;
    signal(SIGPIPE, SIG_IGN);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    for (i = 0; i < procs; i++) {
        pid = fork();
        if (pid < 0) {
            perror("fork");
            procs = i;
            rc = 1;
            break;
        }
        if (pid == 0)
            _exit(minimal_child(port));
        kids[i] = pid;
    }
    live = procs;
    while (live > 0 && !stop_flag && rc == 0) {
        pid = waitpid(-1, &st, 0);
        if (pid > 0) {
            live--;
            for (i = 0; i < procs; i++)
                if (kids[i] == pid)
                    kids[i] = 0;    /* reaped: never signal it again */
            fprintf(stderr, "minimal: child %d exited (status 0x%x)\n",
                    (int)pid, st);
            rc = 1;
        }
    }
    for (i = 0; i < procs; i++)
        if (kids[i] > 0)
            kill(kids[i], SIGTERM);
    while (waitpid(-1, &st, 0) > 0 || errno == EINTR)
        ;
    return rc;
}
