/* transport.h - how a connection's bytes move: read, write, sendfile,
 * shutdown, close, behind one small table of operations so that plain TCP
 * and TLS look the same to the state machine. Worker only;
 * single-threaded. The bottom layer of the worker: this file and its
 * implementations (transport_plain.c, transport_tls.c) include nothing above
 * them, and they are the only place where client sockets are read from or
 * written to (recv/send/sendfile, SSL_*).
 * A read shorter than asked means the transport saw EAGAIN (or EOF): the
 * edge is used up. TLS keeps that promise by reading records until the
 * buffer is full or the socket is empty, so bytes OpenSSL holds
 * (SSL_pending) never wait for an edge that will not come.
 * A conn holds one pointer to a const table; a transport that needs state
 * per connection (TLS: the SSL object) keeps it in its own table indexed
 * by fd, set up when it takes the fd and freed in close().
 * Results follow defs.h: a byte count (> 0), 0 for EOF where it applies,
 * RC_AGAIN when the socket would block (the caller remembers that until
 * the next edge), RC_ERR when the connection is broken (logged here at
 * INFO, since a client that goes away is no server error). EINTR is
 * retried inside.
 * A secure transport may need the other direction to make progress: a TLS
 * read that must first write (a key update to answer while the socket is
 * full), or a write that must first read. crossed() says so, and the
 * state machine then takes the other edge as a retry.
 * SPDX-License-Identifier: MIT */
#ifndef WORKER_TRANSPORT_H
#define WORKER_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* crossed(): the last read waits for the socket to be writable, or the
 * last write for it to be readable */
#define TRANSPORT_READ_WANTS_WRITE  1u
#define TRANSPORT_WRITE_WANTS_READ  2u

struct transport_ops {
    const char *name;                   /* "plain", "tls": for the log */
    bool        secure;                 /* TLS: https URLs, Secure cookies */

    /* Take FD (a new connection) before anything else is done with it:
     * RC_OK, or RC_ERR (logged; FD is left to the caller). NULL when the
     * transport keeps no state per connection. */
    int (*open)(int fd);

    /* Read up to LEN bytes into BUF: > 0, 0 on EOF, RC_AGAIN, RC_ERR. */
    ssize_t (*read)(int fd, void *buf, size_t len);

    /* Write up to LEN bytes of BUF: > 0, RC_AGAIN, RC_ERR. MORE says that
     * more of the response follows at once (MSG_MORE: fewer packets). */
    ssize_t (*write)(int fd, const void *buf, size_t len, bool more);

    /* Send up to LEN bytes of FILE_FD from *POS, advancing it: > 0, 0 when
     * the file ended early, RC_AGAIN, RC_ERR. */
    ssize_t (*sendfile)(int fd, int file_fd, off_t *pos, size_t len);

    /* Is the peer still there? Consumes nothing (MSG_PEEK): RC_OK when
     * bytes wait, RC_AGAIN when nothing does, RC_DONE on EOF or error. */
    int (*peek)(int fd);

    /* Send no more (lingering close): the peer reads EOF after what was
     * sent, while we still read what it sends. */
    void (*shutdown)(int fd);

    /* NULL for transports whose reads only read and writes only write.
     * Else TRANSPORT_READ_WANTS_WRITE when the last read returned RC_AGAIN
     * (or came up short) for want of a writable socket: retry it on the
     * next write edge; TRANSPORT_WRITE_WANTS_READ likewise for a write
     * that waits for a read edge. Each bit lasts until the next read
     * (write). */
    unsigned (*crossed)(int fd);

    /* NULL, or: the connection timed out before its first request and
     * will be closed. Returns true when this transport logged why (at
     * INFO; TLS: the handshake never finished), false when the caller
     * should say it. */
    bool (*timed_out)(int fd);

    /* Small writes go out at once from now on (TCP_NODELAY). */
    void (*nodelay)(int fd);

    /* End the connection and close FD. */
    void (*close)(int fd);

    /* No slot for this connection: best effort RESP[0, LEN) (a complete
     * response), drain a little of what the client sent, close FD. */
    void (*refuse)(int fd, const char *resp, size_t len);
};

/* Plain TCP (or any stream socket: unit tests use socketpairs). */
extern const struct transport_ops transport_plain;

#endif
