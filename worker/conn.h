/* conn.h - one client connection and its state machine. Worker only;
 * single-threaded. struct conn is visible to the connection layer and
 * txn.c only: handlers and the router see struct txn (txn.h). conn.c
 * reaches the layers above it only through the hooks that worker.c sets
 * (conn_set_hooks()), and the socket only through its transport.
 * Every transition goes through conn_set_state(); only conn_drive() closes.
 * SPDX-License-Identifier: MIT */
#ifndef WORKER_CONN_H
#define WORKER_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "http_chunked.h"
#include "http_parse.h"
#include "timer.h"
#include "transport.h"

enum conn_state {
    CONN_READING = 0,   /* request head */
    CONN_PROXY,         /* PROXY protocol header, before the first request */
    CONN_BODY,          /* request body */
    CONN_PROCESSING,    /* routing and building the response */
    CONN_WAIT_REDIS,    /* a session handler waits for Redis */
    CONN_WRITING,       /* response head and body */
    CONN_KEEPALIVE,     /* idle between requests; holds no buffer */
    CONN_LINGERING,     /* error sent, write side shut, draining input */
    CONN_DISCARD,       /* answered; reading an unwanted body to drop it */
    CONN_CLOSING,       /* conn_drive() closes it */
    CONN_NSTATES
};

extern const char *const conn_state_name[CONN_NSTATES];

/* File ranges one response may interleave with buffered bytes (a
 * multipart/byteranges body: part heads in wbuf, part bodies by sendfile). */
#define CONN_RANGES_MAX 16

/* A body in pieces (conn_respond_add()): buffered bytes, then a file
 * range, in turn; after the last range, whatever is left in wbuf. From the
 * worker's pool, only for responses that need it. */
struct conn_seg {
    uint32_t bytes;         /* of wbuf, sent before the range */
    off_t    first;
    off_t    end;
};

struct conn_segs {
    size_t          left;   /* wbuf bytes still due before the current range */
    uint8_t         n;      /* ranges recorded */
    uint8_t         cur;    /* the range being sent; n: the tail */
    struct conn_seg seg[CONN_RANGES_MAX];
};

/* What one request needs while it is in progress. A connection holds one
 * from the first byte of a request until its response is out; an idle
 * keep-alive connection holds none (nor any buffer), which keeps the cost
 * of an idle connection down to struct conn. */

struct conn_req {
    struct conn_req    *next_free;      /* on the worker's free list */
    struct http_parser  parser;
    struct http_request req;
    struct http_chunked chunked;
    struct buf          wbuf;           /* response head (and small bodies) */
    uint64_t            seq;            /* request number in this worker */
    void              (*abort_fn)(uint64_t);  /* see conn_req_on_abort() */
    uint64_t            abort_arg;
    uint64_t            start_us;       /* first byte of the request (the
                                         * loop turn's clock, microseconds) */
    uint64_t            body_deadline;  /* ms: the whole body by then */
    uint64_t            discard_left;   /* Content-Length bytes to drop */
    uint64_t            body_sent;      /* body bytes written (access log) */
    uint64_t            body_total;     /* body bytes of this response */
    off_t               file_pos;
    off_t               file_end;
    int                 file_fd;        /* body source for sendfile, or -1 */
    struct conn_segs   *segs;           /* body in pieces, or NULL: all of
                                         * wbuf, then [file_pos, file_end) */
    int                 status;         /* of the response, for the log */
    uint32_t            body_len;       /* decoded body bytes after the head */
    uint32_t            body_max;       /* largest body the handler reads */
    bool                head_only;      /* HEAD: no body */
    bool                discard;        /* a body the handler does not read */
    int8_t              route;          /* the router's choice, kept from
                                         * select to dispatch (txn_route()) */
    uint8_t             fwd;            /* CONN_FWD_*: what trusted proxies
                                         * said of this request */
};

/* conn_req.fwd: the client address was worked out (conn_client()); it
 * came from X-Forwarded-For; the trusted peer saw https */
#define CONN_FWD_DONE   1u
#define CONN_FWD_ADDR   2u
#define CONN_FWD_HTTPS  4u

struct conn {
    int                 fd;
    uint32_t            slot;           /* index in the pool */
    uint32_t            gen;            /* bumped on every reuse of the slot */
    uint8_t             state;          /* enum conn_state */
    bool                in_use;
    bool                readable;       /* edge seen, not yet read to EAGAIN */
    bool                writable;
    bool                keepalive;      /* this response keeps the conn */
    bool                close_after;    /* linger and close after this response */
    bool                nodelay;        /* TCP_NODELAY already set */
    bool                shut_wr;        /* lingering: write side shut */
    bool                peer_known;     /* conn_pool_peer() holds its peer */
    bool                polled;         /* in the connection set (conn_poll.h) */
    bool                queued;         /* on the run-later list */
    uint32_t            nreqs;          /* responses completed */
    const struct transport_ops *tp;     /* how bytes move on fd */
    struct timer_node   timer;
    struct buf          rbuf;           /* rpos: first byte of the request */
    struct conn_req    *rq;             /* NULL while idle */
    struct conn        *later_next;     /* on the run-later list */
};

/* Weak reference for async callbacks: NULL from conn_pool_deref() once the
 * slot was recycled. */
struct conn_ref {
    uint32_t slot;
    uint32_t gen;
};

/* The handle the layers above get for a connection's current request:
 * struct txn is never defined, a struct txn * is a struct conn * that
 * only txn.c turns back. */
struct txn;

static inline struct txn *
conn_txn(struct conn *c)
{
    return (struct txn *) (void *) c;
}

static inline struct conn *
conn_of_txn(const struct txn *t)
{
    return (struct conn *) (void *) t;
}

/* The layers above, set once by worker.c before the first conn_open(), so
 * that this layer includes none of their headers. */
struct conn_hooks {
    /* The head of T's request is complete: choose what answers it and
     * return the largest body that reads (0: none; a body sent anyway is
     * read and dropped after the answer, never stored). */
    size_t (*select)(struct txn *t);
    /* Answer T (in CONN_PROCESSING) as select chose: leave it answered
     * (txn_respond_*()), suspended (txn_suspend()) or closing. */
    void   (*route)(struct txn *t);
    /* A connection was closed (or refused): the worker's load count. */
    void   (*closed)(void);
};

/* Copy H (each member may be NULL: no body is read, every request gets
 * 500, nothing is told about closes). */
void conn_set_hooks(const struct conn_hooks *h);

struct event_base;

/* Watch the connections from BASE's loop (conn_poll.h), before the first
 * conn_open(). RC_OK or RC_ERR (logged). */
int conn_events_init(struct event_base *base);

/* After the last connection is closed. */
void conn_events_deinit(void);

/* Take a new client socket FD (owned by the conn from now on) and start
 * serving it. Returns RC_OK, or RC_ERR when no slot is free (FD is closed
 * after a 503). */
int conn_open(int fd);

/* conn_open() over transport TP (transport_plain, transport_tls). */
int conn_open_tp(int fd, const struct transport_ops *tp);

/* Run C until it must wait for I/O, a timer or Redis. Entered from libevent
 * callbacks, timer expiry and Redis replies; the only caller of conn_close(). */
void conn_drive(struct conn *c);

/* Every transition goes through here: asserts it and traces at DEBUG. */
void conn_set_state(struct conn *c, enum conn_state next);

/* The server stops: close the idle connections (keep-alive between
 * requests) now; the others finish their current response first. */
void conn_close_idle(void);

/* Fast stop: close every connection now. */
void conn_close_all(void);

/* Free the request states kept for reuse (at exit). */
void conn_free_cache(void);

struct http_head;

/* ---- Responses (in CONN_PROCESSING; handlers use txn.h's) ---- */

/* Error page for STATUS. Statuses that leave the request framing in doubt
 * (400, 408, 413, 414, 417, 431, 501, 505) close the connection after it,
 * with a lingering close; others keep it. EXTRA: more header lines or NULL. */
void conn_respond_error(struct conn *c, int status, const char *extra);

/* STATUS (301, 303, ...) to LOCATION, with an empty body. */
void conn_respond_redirect(struct conn *c, int status, const char *location,
                           const char *extra);

/* Head H (the conn fills in keep-alive) and, unless FD is -1, a body of
 * bytes [FIRST, END) of FD by sendfile. FD is owned by the conn from now on.
 * HEAD requests get the head only. */
void conn_respond_head(struct conn *c, struct http_head *h, int fd,
                       off_t first, off_t end);

/* Head H and an in-memory BODY of LEN bytes (copied). */
void conn_respond_body(struct conn *c, struct http_head *h, const char *body,
                       size_t len);

/* Head H (with its content_length set to the whole body) for a body built
 * piece by piece with conn_respond_add(). FD, the file the pieces' ranges
 * come from (or -1 when every piece is in memory), is owned by the conn
 * from now on. HEAD requests get the head only. */
void conn_respond_begin(struct conn *c, struct http_head *h, int fd);

/* Add LEN bytes of DATA (copied) to the body begun with
 * conn_respond_begin(), then, unless FIRST == END, bytes [FIRST, END) of
 * its file, sent with sendfile: memory stays independent of the ranges'
 * size. At most CONN_RANGES_MAX ranges per response. Does nothing for
 * HEAD. Returns RC_OK, or RC_ERR (out of memory, too many ranges, no
 * file; C is then CLOSING). */
int conn_respond_add(struct conn *c, const char *data, size_t len,
                     off_t first, off_t end);

/* ---- Asynchronous work of one request ---- */

/* A weak reference to C's current request, packed in a pointer for
 * callback arguments: the slot and the request's sequence number (unique
 * per worker). */
void *conn_req_ref(const struct conn *c);

/* The connection whose current request REF names, or NULL when that
 * request is over: answered (say, by the wait's backstop timer), its
 * connection closed or serving a later request. A late reply is then
 * dropped instead of being applied to something else. */
struct conn *conn_req_deref(void *ref);

/* Work started for C's current request that should stop if the request
 * ends first (a queued password hash): CANCEL(ARG) runs then, once. Pass
 * NULL to forget it when the work is done. */
void conn_req_on_abort(struct conn *c, void (*cancel)(uint64_t), uint64_t arg);

/* Handlers that wait for Redis or hashing: C waits in CONN_WAIT_REDIS
 * until a reply answers it; a client that closes meanwhile is noticed, and
 * the wait is bounded by redis_timeout + send_timeout, after which the
 * client gets 503. */
void conn_wait(struct conn *c);

/* Pointer to the decoded request body (after the head) and its length. */
const char *conn_body(const struct conn *c, size_t *len);

/* Make the current piece of RQ's body in pieces (segs->cur) the one being
 * sent. conn_respond.c sets the pieces up; conn.c's writer moves on. */
void conn_seg_load(struct conn_req *rq);

/* A suspended request was answered: go on (write it) unless it still
 * waits. From the callback that answered it. */
void conn_resume(struct conn *c);

/* The peer's address as text ("192.0.2.1", "::1", "-" when it has none,
 * like a Unix socket): the one a PROXY protocol header gave (proxy_protocol),
 * else looked up once per connection, on first use, and kept with the
 * slot, so a request pays no system call for it. */
const char *conn_peer(struct conn *c);

/* The client of C's current request: conn_peer(), unless that peer is in
 * trusted_proxies and X-Forwarded-For names another (forwarded.h). Worked
 * out on first use per request and kept with the slot; NUL-terminated,
 * valid until the next request. The access log, login throttling and
 * status_allow all use this one (through txn_client_addr()). */
const char *conn_client(struct conn *c);

/* Does C's current request count as secure: it came over TLS, or a peer
 * in trusted_proxies says (X-Forwarded-Proto: https) that it did? */
bool conn_is_secure(struct conn *c);

/* The step of a read loop that needs more bytes: RC_AGAIN while C's socket
 * has none (the edge is used up), RC_OK once more came, RC_ERR when the
 * client closed or the read failed (logged at INFO as "client closed the
 * connection CUT", unless CUT is NULL). (conn.c) */
int conn_read_more(struct conn *c, const char *cut);

/* proxy_protocol (conn_addr.c): take the PROXY header off the front of the connection;
 * it sets the peer address (conn_peer()) unless it is a LOCAL or UNKNOWN
 * one. RC_OK once it is gone (whatever came with it is the request),
 * RC_AGAIN, or RC_ERR when the connection must close (logged once). */
int conn_proxy(struct conn *c);

/* Slice of the current request as a pointer. */
static inline const char *
conn_req_ptr(const struct conn *c, struct http_slice s)
{
    return c->rbuf.data + c->rbuf.rpos + s.off;
}

#endif
