/* conn.c - the per-connection state machine. Worker only; single-threaded.
 * A socket joins the connection set (conn_poll.h), edge-triggered for
 * reading and writing, the first time it has to wait, and stays there
 * until it is closed: a keep-alive request costs no epoll_ctl, and a
 * "Connection: close" request that is answered at once (the request is
 * usually there when the fd arrives) costs none at all. `readable` and
 * `writable` remember whether the last edge was used up (EAGAIN or a short
 * read). Work per wake-up is capped (pipelined requests, bytes written) for
 * fairness; the rest goes on the run-later list, driven after the events
 * already due.
 * Bytes move only through c->tp (transport.h); the router, the handlers
 * and the worker are reached only through the hooks worker.c sets, so
 * nothing here includes a header of the layers above.
 * SPDX-License-Identifier: MIT */
#include "conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "access_log.h"
#include "clock.h"
#include "conn_poll.h"
#include "conn_pool.h"
#include "defs.h"
#include "http_response.h"
#include "log.h"
#include "metrics.h"
#include "transport.h"
#include "worker_ctx.h"

#define CONN_REQS_PER_EVENT   16            /* pipelined requests per wake-up */
#define CONN_WRITE_BUDGET     (1 << 20)     /* bytes per wake-up */
#define CONN_SENDFILE_CHUNK   (512 * 1024)
#define CONN_LINGER_MS        5000          /* at most; header_timeout if less */

const char *const conn_state_name[CONN_NSTATES] = {
    "READING", "PROXY", "BODY", "PROCESSING", "WAIT_REDIS", "WRITING",
    "KEEPALIVE", "LINGERING", "DISCARD", "CLOSING"
};

/* The connections{state} gauge each state counts in (metrics.h). */
static const uint8_t conn_metrics_state[CONN_NSTATES] = {
    [CONN_READING]    = METRICS_CONN_READING,
    [CONN_PROXY]      = METRICS_CONN_READING,
    [CONN_BODY]       = METRICS_CONN_READING,
    [CONN_PROCESSING] = METRICS_CONN_WRITING,
    [CONN_WAIT_REDIS] = METRICS_CONN_WAITING,
    [CONN_WRITING]    = METRICS_CONN_WRITING,
    [CONN_KEEPALIVE]  = METRICS_CONN_IDLE,
    [CONN_LINGERING]  = METRICS_CONN_WRITING,
    [CONN_DISCARD]    = METRICS_CONN_READING,
    [CONN_CLOSING]    = METRICS_CONN_GONE,
};

/* Free request states kept for reuse; more than this go back to malloc. */
#define CONN_REQ_FREE_MAX     1024

static void conn_timer_cb(struct timer_node *t);

/* Connections to drive again after the events already due (their work per
 * wake-up was capped), in order. */
static struct {
    struct conn *head, *tail;
} conn_later;

static struct {
    struct conn_req *head;
    size_t           n;
} conn_req_free;

/* Sequence numbers of requests; 44 bits of one travel in a request ref. */
#define CONN_SEQ_BITS   44
#define CONN_SEQ_MASK   ((UINT64_C(1) << CONN_SEQ_BITS) - 1)
static uint64_t conn_next_seq = 1;

/* ---- Hooks to the layers above ---- */

static size_t
conn_no_select(struct txn *t)
{
    (void) t;
    return 0;
}

static void
conn_no_route(struct txn *t)
{
    struct conn *c = conn_of_txn(t);

    log_msg(LOG_ERR, "fd %d: no router set", c->fd);
    conn_respond_error(c, 500, NULL);
}

static void
conn_no_closed(void)
{
}

static struct conn_hooks conn_hooks = {
    conn_no_select, conn_no_route, conn_no_closed
};

void
conn_set_hooks(const struct conn_hooks *h)
{
    conn_hooks.select = h->select != NULL ? h->select : conn_no_select;
    conn_hooks.route = h->route != NULL ? h->route : conn_no_route;
    conn_hooks.closed = h->closed != NULL ? h->closed : conn_no_closed;
}

void
conn_set_state(struct conn *c, enum conn_state next)
{
    if (c->state == CONN_CLOSING && next != CONN_CLOSING)
        log_msg(LOG_ERR, "fd %d: CLOSING -> %s is not allowed", c->fd,
                conn_state_name[next]);
    log_msg(LOG_DEBUG, "fd %d: %s -> %s", c->fd, conn_state_name[c->state],
            conn_state_name[next]);
    metrics_self->conns[conn_metrics_state[c->state]]--;
    metrics_self->conns[conn_metrics_state[next]]++;
    c->state = (uint8_t) next;
}

/* ---- Request state ---- */

/* Give C a fresh request state starting now. Returns RC_OK or RC_ERR. */
static int
conn_req_attach(struct conn *c)
{
    struct conn_req *rq = conn_req_free.head;

    if (rq != NULL) {
        conn_req_free.head = rq->next_free;
        conn_req_free.n--;
    } else {
        rq = malloc(sizeof(*rq));
        if (rq == NULL) {
            log_msg(LOG_ERR, "fd %d: out of memory for a request", c->fd);
            return RC_ERR;
        }
    }
    memset(rq, 0, sizeof(*rq));
    rq->seq = conn_next_seq++ & CONN_SEQ_MASK;
    rq->file_fd = -1;
    rq->start_us = clock_now_us();
    http_parser_init(&rq->parser, &rq->req);
    c->rq = rq;
    return RC_OK;
}

/* Drop C's request state (file, response buffer) if it has one. */
static void
conn_req_detach(struct conn *c)
{
    struct conn_req *rq = c->rq;

    if (rq == NULL)
        return;
    if (rq->abort_fn != NULL) {
        rq->abort_fn(rq->abort_arg);
        rq->abort_fn = NULL;
    }
    if (rq->file_fd >= 0)
        close(rq->file_fd);
    if (rq->segs != NULL)
        mpool_free(wctx.pool, rq->segs, sizeof(*rq->segs));
    buf_release(wctx.pool, &rq->wbuf);
    c->rq = NULL;
    if (conn_req_free.n >= CONN_REQ_FREE_MAX) {
        free(rq);
        return;
    }
    rq->next_free = conn_req_free.head;
    conn_req_free.head = rq;
    conn_req_free.n++;
}

/* ---- Asynchronous work ---- */

void *
conn_req_ref(const struct conn *c)
{
    /* slots stay below 2^20 (max_connections is at most 1000000) */
    return (void *) (uintptr_t) (((uint64_t) c->slot << CONN_SEQ_BITS)
                                 | c->rq->seq);
}

struct conn *
conn_req_deref(void *ref)
{
    uint64_t v = (uint64_t) (uintptr_t) ref;
    struct conn *c;

    if ((v >> CONN_SEQ_BITS) >= conn_pool_high())
        return NULL;
    c = conn_pool_at((size_t) (v >> CONN_SEQ_BITS));
    if (!c->in_use || c->rq == NULL || c->rq->seq != (v & CONN_SEQ_MASK))
        return NULL;
    return c;
}

void
conn_req_on_abort(struct conn *c, void (*cancel)(uint64_t), uint64_t arg)
{
    c->rq->abort_fn = cancel;
    c->rq->abort_arg = arg;
}

void
conn_wait(struct conn *c)
{
    /* backstop; the Redis client and the hashing queue answer long before */
    timer_set(&c->timer, clock_now() + (uint64_t) wctx.cfg.redis_timeout
              + (uint64_t) wctx.cfg.send_timeout);
    conn_set_state(c, CONN_WAIT_REDIS);
}

/* While C waits: has the client gone? Reads nothing (a pipelined request
 * stays queued). RC_DONE on EOF or error, else RC_OK. */
static int
conn_wait_check_peer(struct conn *c)
{
    int rc;

    if (!c->readable)
        return RC_OK;
    rc = c->tp->peek(c->fd);
    if (rc == RC_OK)
        return RC_OK;       /* data waits; the edge is used up, keep the flag */
    if (rc == RC_AGAIN) {
        c->readable = false;
        return RC_OK;
    }
    return RC_DONE;
}

void
conn_resume(struct conn *c)
{
    if (c->state != CONN_WAIT_REDIS)
        conn_drive(c);
}

/* ---- Open and close ---- */

static const char conn_503[] =
    "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
    "Retry-After: 1\r\nConnection: close\r\n\r\n";

int
conn_open(int fd)
{
    return conn_open_tp(fd, &transport_plain);
}

int
conn_open_tp(int fd, const struct transport_ops *tp)
{
    struct conn *c = conn_pool_get();

    metrics_self->c.accepted++;
    if (c == NULL) {
        static uint64_t last_log;
        static unsigned refused;
        uint64_t now = clock_now();
        refused++;
        if (last_log == 0 || now - last_log >= 1000) {
            log_msg(LOG_WARN, "all %d connection slots in use; answered 503 "
                    "to %u connection(s)", wctx.cfg.max_connections, refused);
            last_log = now;
            refused = 0;
        }
        tp->refuse(fd, conn_503, sizeof(conn_503) - 1);
        metrics_count_request(503, 0, 0);      /* answered, if briefly */
        conn_hooks.closed();
        return RC_ERR;
    }
    if (tp->open != NULL && tp->open(fd) != RC_OK) {
        close(fd);
        conn_pool_put(c);
        conn_hooks.closed();
        return RC_ERR;
    }
    c->fd = fd;
    c->tp = tp;
    /* proxy_protocol concerns the plain port: a TLS connection starts
     * with its handshake */
    c->state = wctx.cfg.proxy_protocol && !tp->secure ? CONN_PROXY
                                                      : CONN_READING;
    c->readable = true;     /* optimistic: the request is often here already */
    c->writable = true;
    timer_node_init(&c->timer, conn_timer_cb);
    if (conn_req_attach(c) != RC_OK)
        goto fail;
    wctx.active++;
    metrics_self->conns[METRICS_CONN_READING]++;
    conn_drive(c);      /* it arms header_timeout if it has to wait */
    return RC_OK;

fail:
    tp->close(fd);
    conn_pool_put(c);
    conn_hooks.closed();
    return RC_ERR;
}

/* ---- The run-later list ---- */

/* Drive C again after the events already due. */
static void
conn_later_add(struct conn *c)
{
    if (c->queued)
        return;
    c->queued = true;
    c->later_next = NULL;
    if (conn_later.tail != NULL)
        conn_later.tail->later_next = c;
    else
        conn_later.head = c;
    conn_later.tail = c;
    conn_poll_later();
}

/* C is closing while on the list (rare: the list is short and a closing
 * connection is seldom on it). */
static void
conn_later_remove(struct conn *c)
{
    struct conn **pp = &conn_later.head, *prev = NULL;

    while (*pp != NULL && *pp != c) {
        prev = *pp;
        pp = &(*pp)->later_next;
    }
    if (*pp == c) {
        *pp = c->later_next;
        if (conn_later.tail == c)
            conn_later.tail = prev;
    }
    c->queued = false;
}

/* The list as it stands now; what is added while it runs waits for the
 * next call. */
static void
conn_later_run(void)
{
    struct conn *c = conn_later.head;

    conn_later.head = conn_later.tail = NULL;
    while (c != NULL) {
        struct conn *next = c->later_next;
        c->queued = false;
        clock_update();
        conn_drive(c);
        c = next;
    }
}

/* The one place a connection ends. Only conn_drive() calls it. */
static void
conn_close(struct conn *c)
{
    metrics_self->conns[conn_metrics_state[c->state]]--;
    timer_clear(&c->timer);
    if (c->queued)
        conn_later_remove(c);
    c->tp->close(c->fd);        /* which takes it out of the connection set */
    conn_req_detach(c);
    buf_release(wctx.pool, &c->rbuf);
    conn_pool_put(c);
    wctx.active--;
    conn_hooks.closed();
}

/* ---- I/O steps ---- */

/* Read once into C's rbuf. RC_OK (bytes arrived), RC_AGAIN, RC_DONE (EOF)
 * or RC_ERR. */
static int
conn_read(struct conn *c)
{
    ssize_t n;
    size_t space;

    if (buf_space(&c->rbuf) == 0
        && buf_reserve(wctx.pool, &c->rbuf, 1) != RC_OK) {
        log_msg(LOG_ERR, "fd %d: out of memory for the read buffer", c->fd);
        return RC_ERR;
    }
    space = buf_space(&c->rbuf);
    n = c->tp->read(c->fd, c->rbuf.data + c->rbuf.wpos, space);
    if (n > 0) {
        c->rbuf.wpos += (size_t) n;
        if ((size_t) n < space)
            c->readable = false;    /* drained: the next edge will tell */
        return RC_OK;
    }
    if (n == 0)
        return RC_DONE;
    if (n == RC_AGAIN)
        c->readable = false;
    return (int) n;
}

int
conn_read_more(struct conn *c, const char *cut)
{
    int rc;

    if (!c->readable)
        return RC_AGAIN;
    rc = conn_read(c);
    if (rc == RC_OK || rc == RC_AGAIN)
        return rc;
    if (cut != NULL)
        log_msg(LOG_INFO, "fd %d: client closed the connection %s", c->fd, cut);
    return RC_ERR;
}

/* A write or sendfile did not go through (RC_AGAIN: the socket is full,
 * remembered until the next edge; RC_ERR: the client is gone, logged by
 * the transport). Returns RC. */
static int
conn_write_failed(struct conn *c, int rc)
{
    if (rc == RC_AGAIN)
        c->writable = false;
    return rc;
}

/* Write the head (wbuf) and the file range; or, for a body in pieces,
 * each piece's buffered bytes and file range in turn, then the tail. RC_OK
 * when all is out, RC_AGAIN when the socket is full, RC_DONE when the
 * budget for this wake-up is spent, RC_ERR when the client is gone. */
static int
conn_write(struct conn *c)
{
    struct conn_req *rq = c->rq;
    size_t budget = CONN_WRITE_BUDGET;
    ssize_t n;

    for (;;) {
        struct conn_segs *s = rq->segs;
        size_t head = s != NULL ? s->left : buf_len(&rq->wbuf);

        while (head > 0) {
            bool more = head < buf_len(&rq->wbuf)
                        || (rq->file_fd >= 0 && rq->file_pos < rq->file_end);
            if (!c->writable)
                return RC_AGAIN;
            n = c->tp->write(c->fd, rq->wbuf.data + rq->wbuf.rpos, head,
                             more);
            if (n < 0)
                return conn_write_failed(c, (int) n);
            rq->wbuf.rpos += (size_t) n;
            head -= (size_t) n;
            if (s != NULL)
                s->left = head;
        }
        while (rq->file_fd >= 0 && rq->file_pos < rq->file_end) {
            size_t chunk = (size_t) (rq->file_end - rq->file_pos);
            if (!c->writable)
                return RC_AGAIN;
            if (budget == 0)
                return RC_DONE;
            if (chunk > CONN_SENDFILE_CHUNK)
                chunk = CONN_SENDFILE_CHUNK;
            n = c->tp->sendfile(c->fd, rq->file_fd, &rq->file_pos, chunk);
            if (n < 0)
                return conn_write_failed(c, (int) n);
            if (n == 0) {
                log_msg(LOG_ERR, "fd %d: file shrank while it was being sent",
                        c->fd);
                return RC_ERR;
            }
            rq->body_sent += (uint64_t) n;
            budget = (size_t) n >= budget ? 0 : budget - (size_t) n;
        }
        if (s == NULL || s->cur == s->n)
            return RC_OK;
        s->cur++;
        conn_seg_load(rq);
    }
}

/* After an error response: no more writing, swallow what the client still
 * sends (so it reads our answer, not a reset), then close. */
static int
conn_linger(struct conn *c)
{
    static char sink[16384];
    ssize_t n;

    if (!c->shut_wr) {
        uint64_t linger = (uint64_t) wctx.cfg.header_timeout < CONN_LINGER_MS
                          ? (uint64_t) wctx.cfg.header_timeout : CONN_LINGER_MS;
        c->tp->shutdown(c->fd);
        c->shut_wr = true;
        buf_release(wctx.pool, &c->rbuf);
        timer_set(&c->timer, clock_now() + linger);
    }
    while (c->readable) {
        n = c->tp->read(c->fd, sink, sizeof(sink));
        if (n > 0) {
            if ((size_t) n < sizeof(sink))
                c->readable = false;
            continue;
        }
        if (n == RC_AGAIN) {
            c->readable = false;
            break;
        }
        return RC_DONE;     /* EOF or error */
    }
    return RC_AGAIN;
}

/* ---- Request life cycle ---- */

static void
conn_fail(struct conn *c, int status)
{
    log_msg(LOG_INFO, "fd %d: bad request, answering %d", c->fd, status);
    conn_respond_error(c, status, NULL);
}

static const char conn_100[] = "HTTP/1.1 100 Continue\r\n\r\n";

/* The head is complete: route it, then read the body if the chosen handler
 * takes one, else answer at once (an unwanted body is dropped after the
 * answer, never stored). */
static void
conn_begin_body(struct conn *c)
{
    struct conn_req *rq = c->rq;
    size_t limit, room;

    rq->head_only = rq->req.method == HTTP_HEAD;
    rq->body_len = 0;
    if (rq->req.content_length > 0
        && (uint64_t) rq->req.content_length > wctx.cfg.max_request_body) {
        conn_fail(c, 413);
        return;
    }
    limit = conn_hooks.select(conn_txn(c));
    if (limit > wctx.cfg.max_request_body)
        limit = wctx.cfg.max_request_body;
    if (!rq->req.chunked && rq->req.content_length <= 0) {
        conn_set_state(c, CONN_PROCESSING);
        return;
    }
    http_chunked_init(&rq->chunked);
    /* trailers count against the head's budget */
    room = wctx.cfg.max_request_header > rq->req.head_len
           ? wctx.cfg.max_request_header - rq->req.head_len : 0;
    http_chunked_set_trailer_max(&rq->chunked, room);
    rq->body_deadline = clock_now() + (uint64_t) wctx.cfg.body_timeout;
    if (limit == 0) {
        rq->discard = true;
        rq->discard_left = rq->req.chunked ? 0 : (uint64_t) rq->req.content_length;
        /* a client that waits for "100 Continue" will not get it: whether
         * it sends the body anyway is unknown, so the framing is too */
        if (rq->req.expect_continue && buf_len(&c->rbuf) == rq->req.head_len)
            c->close_after = true;
        conn_set_state(c, CONN_PROCESSING);
        return;
    }
    if (rq->req.content_length > 0 && (uint64_t) rq->req.content_length > limit) {
        conn_fail(c, 413);
        return;
    }
    rq->body_max = (uint32_t) limit;
    if (c->rq->req.expect_continue && buf_len(&c->rbuf) == c->rq->req.head_len) {
        /* the client waits for this before it sends the body */
        if (buf_append(wctx.pool, &c->rq->wbuf, conn_100, sizeof(conn_100) - 1) != RC_OK) {
            conn_set_state(c, CONN_CLOSING);
            return;
        }
        if (c->writable) {
            ssize_t n = c->tp->write(c->fd, c->rq->wbuf.data + c->rq->wbuf.rpos,
                                     buf_len(&c->rq->wbuf), false);
            if (n > 0)
                c->rq->wbuf.rpos += (size_t) n;
            else if (n == RC_AGAIN)
                c->writable = false;
        }
        /* a part that did not fit goes out ahead of the response */
    }
    /* one deadline for the whole body, however it trickles in */
    timer_set(&c->timer, rq->body_deadline);
    conn_set_state(c, CONN_BODY);
}

/* Collect the body. RC_OK when complete, RC_AGAIN, RC_DONE/RC_ERR (client
 * gone) or an HTTP status. */
static int
conn_read_body(struct conn *c)
{
    for (;;) {
        size_t len = buf_len(&c->rbuf);
        int rc;

        if (!c->rq->req.chunked) {
            size_t need = c->rq->req.head_len + (size_t) c->rq->req.content_length;
            if (len >= need) {
                c->rq->body_len = (uint32_t) c->rq->req.content_length;
                return RC_OK;
            }
            if (buf_reserve(wctx.pool, &c->rbuf, need - len) != RC_OK)
                return RC_ERR;
        } else {
            char *in = c->rbuf.data + c->rbuf.rpos + c->rq->req.head_len + c->rq->body_len;
            size_t inlen = len - c->rq->req.head_len - c->rq->body_len, used = 0, made = 0;
            rc = http_chunked_decode(&c->rq->chunked, in, in, inlen, &used, &made,
                                     c->rq->body_max);
            if (rc > 0)
                return rc;      /* 400, 413 or 431: nothing more is read */
            /* close the gap the chunk framing left, so the buffer holds
             * only the decoded body and bytes not yet decoded */
            if (used > made) {
                memmove(in + made, in + used, inlen - used);
                c->rbuf.wpos -= used - made;
            }
            c->rq->body_len += (uint32_t) made;
            if (rc != RC_AGAIN)
                return rc;
            if (buf_space(&c->rbuf) == 0
                && buf_reserve(wctx.pool, &c->rbuf, 4096) != RC_OK)
                return RC_ERR;
        }
        rc = conn_read_more(c, "while sending the body");
        if (rc != RC_OK)
            return rc;
    }
}

/* Drop the body of a request that was answered without it, reading no
 * further than its end (the next request may follow). RC_OK when it is
 * gone, RC_AGAIN, RC_DONE when this wake-up's budget is spent (fairness),
 * RC_ERR when the connection must close (client gone, bad framing, more
 * than max_request_body). */
static int
conn_discard(struct conn *c)
{
    static char sink[16384];
    struct conn_req *rq = c->rq;
    size_t budget = CONN_WRITE_BUDGET;

    for (;;) {
        size_t len = buf_len(&c->rbuf);
        int rc;

        if (budget < sizeof(sink))
            return RC_DONE;
        budget -= sizeof(sink);

        if (!rq->req.chunked) {
            size_t take = len < rq->discard_left ? len : (size_t) rq->discard_left;
            ssize_t n;

            c->rbuf.rpos += take;
            rq->discard_left -= take;
            if (rq->discard_left == 0)
                return RC_OK;
            if (buf_len(&c->rbuf) == 0)
                buf_release(wctx.pool, &c->rbuf);
            if (!c->readable)
                return RC_AGAIN;
            /* straight into the sink: never past the body */
            take = rq->discard_left < sizeof(sink) ? (size_t) rq->discard_left
                                                   : sizeof(sink);
            n = c->tp->read(c->fd, sink, take);
            if (n > 0) {
                rq->discard_left -= (uint64_t) n;
                if ((size_t) n < take)
                    c->readable = false;
                continue;
            }
            if (n == RC_AGAIN) {
                c->readable = false;
                return RC_AGAIN;
            }
            return RC_ERR;      /* EOF or error */
        }
        if (len > 0) {
            char *in = c->rbuf.data + c->rbuf.rpos;
            size_t used = 0, made = 0;
            rc = http_chunked_decode(&rq->chunked, in, in, len, &used, &made,
                                     wctx.cfg.max_request_body);
            if (rc > 0) {
                log_msg(LOG_INFO, "fd %d: unwanted chunked body: bad "
                        "framing or too large (%d); closing", c->fd, rc);
                return RC_ERR;
            }
            c->rbuf.rpos += used;       /* decoded bytes are dropped */
            if (rc == RC_OK)
                return RC_OK;
        }
        rc = conn_read_more(c, NULL);
        if (rc != RC_OK)
            return rc;
    }
}

static void conn_next_request(struct conn *c, size_t used);

/* The access log's record of C's request, filled once. */
static void
conn_log_request(struct conn *c)
{
    const struct conn_req *rq = c->rq;
    struct access_log_rec r;

    memset(&r, 0, sizeof(r));
    r.peer = conn_client(c);
    if (rq->req.method_name.len > 0) {
        /* the request line: method, target, version as sent */
        r.request = conn_req_ptr(c, rq->req.method_name);
        r.request_len = rq->req.target.off + rq->req.target.len + 9
                        - rq->req.method_name.off;
    }
    r.referer = conn_req_ptr(c, rq->req.referer);
    r.referer_len = rq->req.referer.len;
    r.user_agent = conn_req_ptr(c, rq->req.user_agent);
    r.user_agent_len = rq->req.user_agent.len;
    r.status = rq->status;
    r.bytes = rq->body_sent;
    r.start_ms = rq->start_us / 1000;
    r.end_ms = clock_now();
    access_log_write(&r);
}

/* The response is out: log it, drop a body nobody read, and decide what
 * comes next. */
static void
conn_response_done(struct conn *c)
{
    if (c->rq->file_fd < 0 || c->rq->segs != NULL)
        c->rq->body_sent = c->rq->body_total;
    metrics_count_request(c->rq->status, c->rq->body_sent,
                          clock_now_us() - c->rq->start_us);
    if (access_log_on())
        conn_log_request(c);
    c->nreqs++;

    if (c->rq->discard) {
        if (c->keepalive && !c->close_after) {
            /* the next request starts where this body ends */
            c->rbuf.rpos += c->rq->req.head_len;
            timer_set(&c->timer, c->rq->body_deadline);
            conn_set_state(c, CONN_DISCARD);
            return;
        }
        /* closing anyway: lingering swallows the body, so that the client
         * reads our answer rather than a reset */
        c->close_after = true;
    }
    conn_next_request(c, c->rq->req.head_len + c->rq->body_len);
}

/* Request done (USED bytes of rbuf were its head and body): close, linger,
 * go idle, or start on the next pipelined request. */
static void
conn_next_request(struct conn *c, size_t used)
{
    uint64_t now = clock_now();

    conn_req_detach(c);
    if (c->close_after) {
        conn_set_state(c, CONN_LINGERING);
        return;
    }
    if (!c->keepalive) {
        /* while draining, the client may already be sending its next
         * request on this connection: linger so that it reads this
         * answer ("Connection: close") instead of a reset */
        conn_set_state(c, wctx.draining ? CONN_LINGERING : CONN_CLOSING);
        return;
    }
    c->rbuf.rpos += used;
    if (!c->nodelay) {
        c->tp->nodelay(c->fd);
        c->nodelay = true;
    }
    if (buf_len(&c->rbuf) > 0) {
        /* pipelined: the next request is already here */
        if (conn_req_attach(c) != RC_OK) {
            conn_set_state(c, CONN_CLOSING);
            return;
        }
        conn_set_state(c, CONN_READING);    /* header_timeout if it waits */
        return;
    }
    buf_release(wctx.pool, &c->rbuf);   /* idle conns hold no buffer */
    timer_set(&c->timer, now + (uint64_t) wctx.cfg.keepalive_timeout);
    conn_set_state(c, CONN_KEEPALIVE);
}

static void conn_run(struct conn *c);

/* C waits for the rest of a request head (or the PROXY header before it):
 * header_timeout from the request's start. Armed only here, when it has
 * to wait, so a request that comes whole costs the timer heap nothing: the
 * keep-alive deadline it leaves in place moves by less than the heap's
 * slack (timer.h) from one request to the next. */
static void
conn_wait_head(struct conn *c)
{
    timer_set(&c->timer, c->rq->start_us / 1000
                         + (uint64_t) wctx.cfg.header_timeout);
}

void
conn_drive(struct conn *c)
{
    conn_run(c);
    /* still open and about to wait for its socket: into the set (closed,
     * its slot is not in use, and nothing reuses it before we return) */
    if (c->in_use && !c->polled) {
        uint64_t key = (uint64_t) c->slot << 32 | c->gen;
        if (conn_poll_add(c->fd, key) != RC_OK) {
            conn_set_state(c, CONN_CLOSING);
            conn_run(c);
            return;
        }
        c->polled = true;
    }
}

/* The state machine proper: runs C until it must wait. */
static void
conn_run(struct conn *c)
{
    int handled = 0, rc;

    for (;;) {
        switch ((enum conn_state) c->state) {
        case CONN_KEEPALIVE:
            /* also while draining: a request that reaches an idle
             * connection is answered (with "Connection: close") */
            if (!c->readable)
                return;
            if (conn_req_attach(c) != RC_OK) {
                conn_set_state(c, CONN_CLOSING);
                break;
            }
            conn_set_state(c, CONN_READING);
            break;

        case CONN_READING:
            if (buf_len(&c->rbuf) > 0) {
                rc = http_parse_request(&c->rq->parser, &c->rq->req,
                                        c->rbuf.data + c->rbuf.rpos,
                                        buf_len(&c->rbuf),
                                        wctx.cfg.max_request_header);
                if (rc == RC_OK) {
                    conn_begin_body(c);
                    break;
                }
                if (rc != RC_AGAIN) {
                    conn_fail(c, rc);
                    break;
                }
            }
            if (!c->readable) {
                conn_wait_head(c);
                return;
            }
            rc = conn_read(c);
            if (rc == RC_OK)
                break;
            if (rc == RC_AGAIN) {
                if (buf_len(&c->rbuf) == 0)
                    buf_release(wctx.pool, &c->rbuf);   /* nothing came yet */
                conn_wait_head(c);
                return;
            }
            if (buf_len(&c->rbuf) > 0)
                log_msg(LOG_INFO, "fd %d: client closed the connection in the "
                        "middle of a request head", c->fd);
            conn_set_state(c, CONN_CLOSING);
            break;

        case CONN_PROXY:
            rc = conn_proxy(c);
            if (rc == RC_AGAIN) {
                if (buf_len(&c->rbuf) == 0)
                    buf_release(wctx.pool, &c->rbuf);
                conn_wait_head(c);
                return;
            }
            conn_set_state(c, rc == RC_OK ? CONN_READING : CONN_CLOSING);
            break;

        case CONN_BODY:
            rc = conn_read_body(c);
            if (rc == RC_OK)
                conn_set_state(c, CONN_PROCESSING);
            else if (rc == RC_AGAIN)
                return;
            else if (rc > 0)
                conn_fail(c, rc);
            else
                conn_set_state(c, CONN_CLOSING);
            break;

        case CONN_PROCESSING:
            conn_hooks.route(conn_txn(c));
            break;

        case CONN_WAIT_REDIS:
            if (conn_wait_check_peer(c) == RC_DONE) {
                /* nobody to answer: stop the work (conn_req_detach()) */
                log_msg(LOG_INFO, "fd %d: client went away during a session "
                        "request", c->fd);
                conn_set_state(c, CONN_CLOSING);
                break;
            }
            return;

        case CONN_WRITING:
            rc = conn_write(c);
            if (rc == RC_AGAIN) {
                timer_set(&c->timer, clock_now() + (uint64_t) wctx.cfg.send_timeout);
                return;
            }
            if (rc == RC_DONE) {
                /* budget spent: let other connections run first */
                timer_set(&c->timer, clock_now() + (uint64_t) wctx.cfg.send_timeout);
                conn_later_add(c);      /* still writable */
                return;
            }
            if (rc == RC_ERR) {
                conn_set_state(c, CONN_CLOSING);
                break;
            }
            conn_response_done(c);
            if (c->state == CONN_READING && ++handled >= CONN_REQS_PER_EVENT) {
                /* resume from the buffer later; readable keeps what the
                 * last read found */
                conn_later_add(c);
                return;
            }
            break;

        case CONN_LINGERING:
            if (conn_linger(c) == RC_AGAIN)
                return;
            conn_set_state(c, CONN_CLOSING);
            break;

        case CONN_DISCARD:
            rc = conn_discard(c);
            if (rc == RC_AGAIN)
                return;
            if (rc == RC_DONE) {
                /* let other connections run; readable stays as it is */
                conn_later_add(c);
                return;
            }
            if (rc != RC_OK) {
                conn_set_state(c, CONN_CLOSING);
                break;
            }
            conn_next_request(c, 0);
            if (c->state == CONN_READING && ++handled >= CONN_REQS_PER_EVENT) {
                conn_later_add(c);
                return;
            }
            break;

        case CONN_CLOSING:
            conn_close(c);
            return;

        default:
            log_msg(LOG_CRIT, "fd %d: bad state %d", c->fd, c->state);
            conn_set_state(c, CONN_CLOSING);
            break;
        }
    }
}

/* ---- Events and timers ---- */

/* A report from the connection set: KEY is slot and generation, so a
 * connection closed since (its socket's last reports may still be queued,
 * or the master may still hold its copy) is dropped here. */
static void
conn_ready(uint64_t key, unsigned what)
{
    struct conn_ref ref = { (uint32_t) (key >> 32), (uint32_t) key };
    struct conn *c = conn_pool_deref(ref);

    if (c == NULL)
        return;
    clock_update();
    if (what & CONN_POLL_IN)
        c->readable = true;
    if (what & CONN_POLL_OUT)
        c->writable = true;
    if (c->tp->crossed != NULL) {
        /* TLS: a read that waits to write goes on at a write edge, and
         * the other way round (plain TCP never gets here) */
        unsigned x = c->tp->crossed(c->fd);
        if ((what & CONN_POLL_OUT) && (x & TRANSPORT_READ_WANTS_WRITE))
            c->readable = true;
        if ((what & CONN_POLL_IN) && (x & TRANSPORT_WRITE_WANTS_READ))
            c->writable = true;
    }
    conn_drive(c);
}

int
conn_events_init(struct event_base *base)
{
    return conn_poll_init(base, conn_ready, conn_later_run);
}

void
conn_events_deinit(void)
{
    conn_poll_deinit();
}

static void
conn_timer_cb(struct timer_node *t)
{
    struct conn *c = (struct conn *) ((char *) t - offsetof(struct conn, timer));

    switch ((enum conn_state) c->state) {
    case CONN_PROXY:
        /* header_timeout covers the PROXY header and the request head */
        log_msg(LOG_INFO, "fd %d: closing a connection without a valid PROXY "
                "protocol header: none within header_timeout", c->fd);
        break;
    case CONN_READING:
        if (c->tp->timed_out == NULL || !c->tp->timed_out(c->fd))
            log_msg(LOG_INFO, "fd %d: client timed out sending the request",
                    c->fd);
        break;
    case CONN_BODY:
        /* body_timeout: the client is told, then the rest is not read */
        log_msg(LOG_INFO, "fd %d: client timed out sending the body; "
                "answering 408", c->fd);
        conn_respond_error(c, 408, NULL);
        conn_drive(c);
        return;
    case CONN_DISCARD:
        log_msg(LOG_INFO, "fd %d: client timed out sending an unwanted body",
                c->fd);
        break;
    case CONN_WRITING:
        log_msg(LOG_INFO, "fd %d: client timed out reading the response", c->fd);
        break;
    case CONN_WAIT_REDIS:
        /* the Redis client keeps its own deadline; this is a backstop, and
         * the client is owed an answer. The request's work is stopped and
         * its ref dies with a new sequence number, so a late reply finds
         * nothing. */
        log_msg(LOG_WARN, "fd %d: timed out waiting for Redis or password "
                "hashing; answering 503", c->fd);
        if (c->rq->abort_fn != NULL) {
            c->rq->abort_fn(c->rq->abort_arg);
            c->rq->abort_fn = NULL;
        }
        c->rq->seq = conn_next_seq++ & CONN_SEQ_MASK;
        conn_respond_error(c, 503, "Retry-After: 1\r\n");
        conn_drive(c);
        return;
    default:
        break;
    }
    conn_set_state(c, CONN_CLOSING);
    conn_drive(c);
}


void
conn_close_idle(void)
{
    for (size_t i = 0; i < conn_pool_high(); i++) {
        struct conn *c = conn_pool_at(i);
        if (!c->in_use)
            continue;
        if (c->state == CONN_KEEPALIVE
            || (c->state == CONN_READING && c->nreqs > 0
                && buf_len(&c->rbuf) == 0)) {
            conn_set_state(c, CONN_CLOSING);
            conn_drive(c);
        }
    }
}

void
conn_free_cache(void)
{
    struct conn_req *rq;

    while ((rq = conn_req_free.head) != NULL) {
        conn_req_free.head = rq->next_free;
        free(rq);
    }
    conn_req_free.n = 0;
}

void
conn_close_all(void)
{
    for (size_t i = 0; i < conn_pool_high(); i++) {
        struct conn *c = conn_pool_at(i);
        if (!c->in_use)
            continue;
        conn_set_state(c, CONN_CLOSING);
        conn_drive(c);
    }
}
