/* txn.c - the handler API (see txn.h) over the connection layer: thin
 * accessors and forwards, so a handler pays a call, not a copy. The only
 * file above conn.c that sees struct conn. Worker only.
 * SPDX-License-Identifier: MIT */
#include "txn.h"

#include <string.h>

#include "conn.h"
#include "defs.h"
#include "worker_ctx.h"

_Static_assert(TXN_RANGES_MAX == CONN_RANGES_MAX,
               "txn.h and conn.h disagree on ranges per response");

static inline const char *
txn_slice(const struct conn *c, struct http_slice s, size_t *len)
{
    *len = s.len;
    return conn_req_ptr(c, s);
}

/* ---- The request ---- */

int
txn_method(const struct txn *t)
{
    return conn_of_txn(t)->rq->req.method;
}

const char *
txn_path(struct txn *t)
{
    /* the scratch area holds the path of one request at a time: the last
     * one decoded, known by its sequence number (unique in this worker),
     * so the router and the handler decode it once between them */
    static uint64_t done_seq;
    static bool done_ok;
    const struct conn *c = conn_of_txn(t);
    char *path = wctx.scratch;
    int n;

    if (c->rq->seq == done_seq)
        return done_ok ? path : NULL;
    done_seq = c->rq->seq;
    done_ok = false;
    if (c->rq->req.path.len == 0) {
        path[0] = '/';
        path[1] = '\0';
        done_ok = true;
        return path;
    }
    n = http_decode_path(conn_req_ptr(c, c->rq->req.path), c->rq->req.path.len,
                         path);
    if (n < 0 || (size_t) n != strlen(path))    /* bad escape, NUL smuggled in */
        return NULL;
    done_ok = true;
    return path;
}

const char *
txn_raw_path(const struct txn *t, size_t *len)
{
    const struct conn *c = conn_of_txn(t);

    return txn_slice(c, c->rq->req.path, len);
}

const char *
txn_query(const struct txn *t, size_t *len, bool *has_query)
{
    const struct conn *c = conn_of_txn(t);

    *has_query = c->rq->req.query.off != 0;
    return txn_slice(c, c->rq->req.query, len);
}

const char *
txn_cookie(const struct txn *t, size_t *len)
{
    const struct conn *c = conn_of_txn(t);

    return txn_slice(c, c->rq->req.cookie, len);
}

const char *
txn_origin(const struct txn *t, size_t *len)
{
    const struct conn *c = conn_of_txn(t);

    return txn_slice(c, c->rq->req.origin, len);
}

const char *
txn_referer(const struct txn *t, size_t *len)
{
    const struct conn *c = conn_of_txn(t);

    return txn_slice(c, c->rq->req.referer, len);
}

const char *
txn_content_type(const struct txn *t, size_t *len)
{
    const struct conn *c = conn_of_txn(t);

    return txn_slice(c, c->rq->req.content_type, len);
}

const char *
txn_accept_encoding(const struct txn *t, size_t *len)
{
    const struct conn *c = conn_of_txn(t);

    return txn_slice(c, c->rq->req.accept_encoding, len);
}

const char *
txn_range(const struct txn *t, size_t *len)
{
    const struct conn *c = conn_of_txn(t);

    return txn_slice(c, c->rq->req.range, len);
}

const struct http_request *
txn_request(const struct txn *t)
{
    return &conn_of_txn(t)->rq->req;
}

const char *
txn_head_data(const struct txn *t)
{
    const struct conn *c = conn_of_txn(t);

    return c->rbuf.data + c->rbuf.rpos;
}

const char *
txn_body(const struct txn *t, size_t *len)
{
    return conn_body(conn_of_txn(t), len);
}

const char *
txn_client_addr(struct txn *t)
{
    return conn_client(conn_of_txn(t));
}

bool
txn_is_tls(const struct txn *t)
{
    return conn_of_txn(t)->tp->secure;
}

bool
txn_is_secure(const struct txn *t)
{
    /* the answer is worked out once per request and kept with it */
    return conn_is_secure(conn_of_txn(t));
}

const char *
txn_host(const struct txn *t, size_t *len)
{
    return txn_slice(conn_of_txn(t), conn_of_txn(t)->rq->req.host, len);
}

void
txn_set_route(struct txn *t, int route)
{
    conn_of_txn(t)->rq->route = (int8_t) route;
}

int
txn_route(const struct txn *t)
{
    return conn_of_txn(t)->rq->route;
}

/* ---- Replies ---- */

void
txn_respond_error(struct txn *t, int status, const char *extra)
{
    conn_respond_error(conn_of_txn(t), status, extra);
}

void
txn_respond_redirect(struct txn *t, int status, const char *location,
                     const char *extra)
{
    conn_respond_redirect(conn_of_txn(t), status, location, extra);
}

void
txn_respond_head(struct txn *t, struct http_head *h, int fd, off_t first,
                 off_t end)
{
    conn_respond_head(conn_of_txn(t), h, fd, first, end);
}

void
txn_respond_body(struct txn *t, struct http_head *h, const char *body,
                 size_t len)
{
    conn_respond_body(conn_of_txn(t), h, body, len);
}

void
txn_respond_begin(struct txn *t, struct http_head *h, int fd)
{
    conn_respond_begin(conn_of_txn(t), h, fd);
}

int
txn_respond_add(struct txn *t, const char *data, size_t len, off_t first,
                off_t end)
{
    return conn_respond_add(conn_of_txn(t), data, len, first, end);
}

/* ---- Waiting ---- */

void *
txn_ref(const struct txn *t)
{
    return conn_req_ref(conn_of_txn(t));
}

struct txn *
txn_from_ref(void *ref)
{
    struct conn *c = conn_req_deref(ref);

    return c != NULL ? conn_txn(c) : NULL;
}

void
txn_suspend(struct txn *t)
{
    conn_wait(conn_of_txn(t));
}

void
txn_resume(struct txn *t)
{
    conn_resume(conn_of_txn(t));
}

void
txn_on_abort(struct txn *t, void (*cancel)(uint64_t), uint64_t arg)
{
    conn_req_on_abort(conn_of_txn(t), cancel, arg);
}
