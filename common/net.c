/* net.c - listen socket and accept helpers (anet-like).
 * SPDX-License-Identifier: MIT */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "defs.h"
#include "log.h"

int
net_listen(const char *address, int port, int backlog, int *bound_port)
{
    struct sockaddr_storage ss;
    struct sockaddr_in *sin = (struct sockaddr_in *) &ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) &ss;
    socklen_t len;
    int fd, on = 1;

    memset(&ss, 0, sizeof(ss));
    if (inet_pton(AF_INET, address, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t) port);
        len = sizeof(*sin);
    } else if (inet_pton(AF_INET6, address, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t) port);
        len = sizeof(*sin6);
    } else {
        log_msg(LOG_CRIT, "\"%s\" is not an IPv4 or IPv6 address", address);
        return RC_ERR;
    }

    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        log_errno(LOG_CRIT, errno, "socket() failed");
        return RC_ERR;
    }
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0)
        log_errno(LOG_WARN, errno, "setsockopt(SO_REUSEADDR) failed");
    if (ss.ss_family == AF_INET6
        && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) < 0)
        log_errno(LOG_WARN, errno, "setsockopt(IPV6_V6ONLY) failed");

    if (bind(fd, (struct sockaddr *) &ss, len) < 0) {
        log_errno(LOG_CRIT, errno, "bind() to %s port %d failed", address, port);
        close(fd);
        return RC_ERR;
    }
    /* Hand a connection to accept() only once its first bytes are in
     * (nginx's "deferred"): the worker then reads the request at once
     * instead of registering the socket and waiting for it. A client that
     * sends nothing is accepted after NET_DEFER_ACCEPT_S anyway, and
     * header_timeout runs from there. */
    if (setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &(int) { NET_DEFER_ACCEPT_S },
                   sizeof(int)) < 0)
        log_errno(LOG_WARN, errno, "setsockopt(TCP_DEFER_ACCEPT) failed");
    if (listen(fd, backlog) < 0) {
        log_errno(LOG_CRIT, errno, "listen() on %s port %d failed", address, port);
        close(fd);
        return RC_ERR;
    }
    if (bound_port != NULL && (*bound_port = net_local_port(fd)) < 0) {
        log_errno(LOG_CRIT, errno, "getsockname() failed");
        close(fd);
        return RC_ERR;
    }
    return fd;
}

int
net_accept(int lfd)
{
    int fd;

    for (;;) {
        fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0)
            return fd;
        switch (errno) {
        case EINTR:
            continue;
        case EAGAIN:
#if EAGAIN != EWOULDBLOCK
        case EWOULDBLOCK:
#endif
            return RC_AGAIN;
        case ECONNABORTED:
        case EPROTO:
        case EPERM:
        case ENETDOWN:
        case ENOPROTOOPT:
        case EHOSTDOWN:
        case ENONET:
        case EHOSTUNREACH:
        case EOPNOTSUPP:
        case ENETUNREACH:
            /* the client went away or was filtered; try the next one */
            continue;
        default:
            return RC_ERR;
        }
    }
}

void
net_peer_name(int fd, char *buf, unsigned len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    const void *addr;

    if (getpeername(fd, (struct sockaddr *) &ss, &sl) < 0)
        goto unknown;
    if (ss.ss_family == AF_INET)
        addr = &((struct sockaddr_in *) &ss)->sin_addr;
    else if (ss.ss_family == AF_INET6)
        addr = &((struct sockaddr_in6 *) &ss)->sin6_addr;
    else
        goto unknown;
    if (inet_ntop(ss.ss_family, addr, buf, len) != NULL)
        return;
unknown:
    snprintf(buf, len, "-");
}

int
net_fd_capacity(int max_conns)
{
    struct rlimit rl;
    rlim_t cap;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
        return max_conns;
    cap = rl.rlim_cur > NET_FD_RESERVE + 2 ? (rl.rlim_cur - NET_FD_RESERVE) / 2 : 1;
    return cap < (rlim_t) max_conns ? (int) cap : max_conns;
}

long
net_raise_nofile(long want)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return -1;
    if (want > 0 && rl.rlim_max != RLIM_INFINITY && rl.rlim_max < (rlim_t) want) {
        struct rlimit up = { (rlim_t) want, (rlim_t) want };
        /* EPERM without the privilege, or above fs.nr_open: keep what
         * there is */
        if (setrlimit(RLIMIT_NOFILE, &up) == 0)
            rl = up;
    }
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur == RLIM_INFINITY ? -1 : (long) rl.rlim_cur;
}

int
net_local_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    if (getsockname(fd, (struct sockaddr *) &ss, &len) < 0)
        return RC_ERR;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *) &ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *) &ss)->sin6_port);
    return RC_ERR;
}

void
net_refuse(int fd, const char *resp, size_t len)
{
    char sink[4096];

    /* best effort: the socket buffer of a fresh connection takes this */
    if (send(fd, resp, len, MSG_NOSIGNAL | MSG_DONTWAIT) >= 0)
        shutdown(fd, SHUT_WR);
    for (int i = 0; i < 16; i++) {
        ssize_t n = recv(fd, sink, sizeof(sink), MSG_DONTWAIT);
        if (n <= 0 && !(n < 0 && errno == EINTR))
            break;
    }
    close(fd);
}

int
net_addr_parse(const char *s, uint8_t *family, uint8_t addr[16])
{
    static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    uint8_t tmp[16];

    if (inet_pton(AF_INET, s, tmp) == 1) {
        *family = AF_INET;
        memcpy(addr, tmp, 4);
        return RC_OK;
    }
    if (inet_pton(AF_INET6, s, tmp) != 1)
        return RC_ERR;
    if (memcmp(tmp, mapped, sizeof(mapped)) == 0) {
        *family = AF_INET;
        memcpy(addr, tmp + 12, 4);
        return RC_OK;
    }
    *family = AF_INET6;
    memcpy(addr, tmp, 16);
    return RC_OK;
}

int
net_cidr_parse(const char *s, struct net_cidr *out)
{
    char host[INET6_ADDRSTRLEN];
    const char *slash = strchr(s, '/');
    size_t hlen = slash != NULL ? (size_t) (slash - s) : strlen(s);
    unsigned bits, max;

    if (hlen == 0 || hlen >= sizeof(host))
        return RC_ERR;
    memcpy(host, s, hlen);
    host[hlen] = '\0';
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, host, out->addr) == 1)
        out->family = AF_INET;
    else if (inet_pton(AF_INET6, host, out->addr) == 1)
        out->family = AF_INET6;
    else
        return RC_ERR;
    max = out->family == AF_INET ? 32 : 128;
    bits = max;
    if (slash != NULL) {
        const char *p = slash + 1;
        if (*p < '0' || *p > '9')
            return RC_ERR;
        for (bits = 0; *p >= '0' && *p <= '9'; p++) {
            bits = bits * 10 + (unsigned) (*p - '0');
            if (bits > max)
                return RC_ERR;
        }
        if (*p != '\0')
            return RC_ERR;
    }
    out->bits = (uint8_t) bits;
    return RC_OK;
}

/* Do the leading BITS of A and B agree? */
static bool
net_prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
    unsigned whole = bits / 8, rest = bits % 8;

    if (memcmp(a, b, whole) != 0)
        return false;
    if (rest == 0)
        return true;
    return ((a[whole] ^ b[whole]) & (uint8_t) (0xff << (8 - rest))) == 0;
}

bool
net_cidr_match(const struct net_cidr *list, int n, const char *addr)
{
    uint8_t family, bytes[16];

    if (n <= 0 || net_addr_parse(addr, &family, bytes) != RC_OK)
        return false;
    for (int i = 0; i < n; i++) {
        if (list[i].family == family
            && net_prefix_equal(list[i].addr, bytes, list[i].bits))
            return true;
    }
    return false;
}
