/* net.h - socket helpers: listen socket, flags, accept wrapper.
 * SPDX-License-Identifier: MIT */
#ifndef COMMON_NET_H
#define COMMON_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Seconds the kernel holds a new connection that has sent nothing yet
 * before accept() sees it (TCP_DEFER_ACCEPT). */
#define NET_DEFER_ACCEPT_S 1

/* Bind and listen on ADDRESS (IPv4 or IPv6 literal) and PORT (0: ephemeral)
 * with SO_REUSEADDR and TCP_DEFER_ACCEPT, non-blocking and close-on-exec.
 * Stores the bound port in *bound_port if not NULL. Returns the fd (owned
 * by the caller) or RC_ERR (logged at CRIT). */
int net_listen(const char *address, int port, int backlog, int *bound_port);

/* accept4() with SOCK_NONBLOCK | SOCK_CLOEXEC. Returns the new fd (owned by
 * the caller), RC_AGAIN when nothing is pending or the error concerns only
 * that one client (ECONNABORTED, EPROTO, ...), or RC_ERR with errno set for
 * errors about the process or system (EMFILE, ENFILE, ENOBUFS, ENOMEM). */
int net_accept(int lfd);

/* Descriptors kept aside for logs, channels, epoll, Redis and the like. */
#define NET_FD_RESERVE 32

/* How many client connections one process can hold under RLIMIT_NOFILE:
 * each needs its socket and, while a file is sent, that file; the result
 * is MAX_CONNS or less, and at least 1. */
int net_fd_capacity(int max_conns);

/* Descriptors one process needs for MAX_CONNS connections: a socket each
 * and, while a file is sent, the file; plus NET_FD_RESERVE. */
#define NET_FD_NEED(max_conns) (2L * (max_conns) + NET_FD_RESERVE)

/* Raise the soft RLIMIT_NOFILE to the hard limit, and both to WANT when
 * the hard limit is lower and the process may raise it (CAP_SYS_RESOURCE,
 * as a root-started server can; nginx's worker_rlimit_nofile). Children
 * inherit it. Returns the soft limit now in force (-1: unlimited). */
long net_raise_nofile(long want);

/* The local port FD is bound to, or RC_ERR. */
int net_local_port(int fd);

/* Format the peer address of FD ("127.0.0.1", "::1") into BUF; "-" on error. */
void net_peer_name(int fd, char *buf, unsigned len);

/* Refuse a fresh connection FD with the complete response RESP (LEN bytes):
 * send it without blocking, shut the write side, read and drop what the
 * client already sent (at most 64 KiB, without waiting), then close FD.
 * Closing with unread input would send a reset, which can destroy the
 * answer before the client reads it. */
void net_refuse(int fd, const char *resp, size_t len);

/* An address block: FAMILY (AF_INET, AF_INET6), the leading BITS of
 * ADDR (network byte order) that must match. A plain value. */
struct net_cidr {
    uint8_t family;
    uint8_t bits;
    uint8_t addr[16];
};

/* Parse "192.0.2.0/24", "2001:db8::/32" or a bare address (all bits) into
 * *OUT; host bits beyond the prefix are ignored. Returns RC_OK or RC_ERR. */
int net_cidr_parse(const char *s, struct net_cidr *out);

/* Is the address in text ADDR ("192.0.2.7", "::1") inside one of the N
 * blocks of LIST? An IPv4-mapped IPv6 address ("::ffff:192.0.2.7") is
 * taken as the IPv4 address it carries. false for text that is no
 * address ("-"). */
bool net_cidr_match(const struct net_cidr *list, int n, const char *addr);

/* Parse the address text S into FAMILY and 4 or 16 bytes in ADDR, an
 * IPv4-mapped IPv6 address as IPv4. Returns RC_OK or RC_ERR. */
int net_addr_parse(const char *s, uint8_t *family, uint8_t addr[16]);

#endif
