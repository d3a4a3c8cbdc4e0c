/* chan.h - master <-> worker messages on a SOCK_SEQPACKET socketpair.
 * Every message is one fixed-size struct chan_msg; CHAN_NEW_CONN and
 * CHAN_NEW_TLS_CONN also carry 1..CHAN_MAX_FDS descriptors via SCM_RIGHTS
 * (arg = how many). Every receive
 * checks the size, cmsg level/type/length and MSG_CTRUNC, and closes any
 * descriptor of a message it rejects, so nothing leaks.
 * SPDX-License-Identifier: MIT */
#ifndef COMMON_CHAN_H
#define COMMON_CHAN_H

#include <stdint.h>

/* Descriptors per message (the kernel takes up to 253). A channel queues
 * only net.unix.max_dgram_qlen messages (10 by default), so a larger batch
 * lets a burst of connections wait in the channel rather than in the
 * master, with fewer sendmsg() calls. */
#define CHAN_MAX_FDS 64

enum chan_type {
    CHAN_NEW_CONN = 1,  /* master -> worker: arg fds follow */
    CHAN_LOAD,          /* worker -> master: arg = conns finished since last report */
    CHAN_QUIT,          /* master -> worker: drain and exit */
    CHAN_TERMINATE,     /* master -> worker: exit now */
    CHAN_REOPEN,        /* master -> worker: reopen log files */
    CHAN_READY,         /* worker -> master: set up, the loop is running */
    CHAN_NEW_TLS_CONN,  /* master -> worker: arg fds from the TLS port follow */
    CHAN_TYPE_MAX
};

/* arg of CHAN_QUIT: a reload (a new generation takes over: idle keep-alive
 * connections answer their next request, then close) or a stop (nothing
 * takes over: idle connections close at once) */
#define CHAN_QUIT_RELOAD 0
#define CHAN_QUIT_STOP   1

struct chan_msg {
    uint32_t type;
    int32_t  arg;
};

/* Create a non-blocking, close-on-exec SOCK_SEQPACKET pair. Returns RC_OK and
 * fills fds[2], or RC_ERR (logged). */
int chan_open(int fds[2]);

/* Send MSG with NFDS (0..CHAN_MAX_FDS) descriptors. The descriptors stay
 * owned by the caller either way (close them after RC_OK). Returns RC_OK,
 * RC_AGAIN when the channel is full or the kernel is short of memory or of
 * room for descriptors in flight (ENOBUFS, ENOMEM, ETOOMANYREFS: it
 * passes), RC_ERR when the channel is broken (logged at ERR unless
 * the peer is gone: EPIPE/ECONNRESET are logged at INFO). */
int chan_send(int chan_fd, const struct chan_msg *msg, const int *fds, int nfds);

/* Take one message. On RC_OK *nfds descriptors (0..maxfds) were stored in
 * fds[] and are owned by the caller. Returns RC_AGAIN when nothing is queued,
 * RC_DONE on EOF, RC_ERR on a malformed message (logged; any descriptors it
 * carried are closed; *msg holds the 8 bytes received, if that many came,
 * so a receiver can tell that CHAN_NEW_CONN connections were lost). */
int chan_recv(int chan_fd, struct chan_msg *msg, int *fds, int maxfds,
              int *nfds);

#endif
