/* conn_respond.c - a connection's response: error pages, redirects, heads
 * with a file or an in-memory body, bodies in pieces (multipart ranges),
 * written into the request's wbuf for conn.c's writer to send. Worker
 * only; the layer of conn.c (see conn.h).
 * SPDX-License-Identifier: MIT */
#include "conn.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "defs.h"
#include "http_response.h"
#include "log.h"
#include "mpool.h"
#include "worker_ctx.h"

static bool
conn_keepalive_ok(const struct conn *c)
{
    return c->rq->req.keepalive && !c->close_after && !wctx.draining
           && wctx.cfg.keepalive_timeout > 0
           && c->nreqs + 1 < (uint32_t) wctx.cfg.max_keepalive_requests;
}

/* Statuses after which the rest of the input cannot be trusted. */
static bool
conn_status_breaks_framing(int status)
{
    switch (status) {
    case 400: case 408: case 413: case 414: case 417: case 431: case 501:
    case 505:
        return true;
    default:
        return false;
    }
}

/* Strict-Transport-Security for TLS answers (hsts), or NULL. The line
 * is the same for the worker's whole life (its config does not change):
 * formatted on the first TLS answer, not on each. */
static const char *
conn_hsts(const struct conn *c)
{
    static char line[64];

    if (!c->tp->secure || wctx.cfg.hsts <= 0)
        return NULL;
    if (line[0] == '\0')
        snprintf(line, sizeof(line),
                 "Strict-Transport-Security: max-age=%lld\r\n",
                 (long long) (wctx.cfg.hsts / 1000));
    return line;
}

void
conn_respond_error(struct conn *c, int status, const char *extra)
{
    size_t before = buf_len(&c->rq->wbuf);     /* a 100 Continue may be queued */
    const char *end, *head, *hsts = conn_hsts(c);
    char both[1024];

    if (hsts != NULL) {
        snprintf(both, sizeof(both), "%s%s", extra != NULL ? extra : "", hsts);
        extra = both;
    }

    if (conn_status_breaks_framing(status))
        c->close_after = true;
    c->keepalive = conn_keepalive_ok(c);
    c->rq->status = status;
    if (http_response_error(wctx.pool, &c->rq->wbuf, status, c->keepalive,
                            c->rq->req.version == 10, c->rq->head_only, extra) != RC_OK) {
        conn_set_state(c, CONN_CLOSING);
        return;
    }
    /* the page follows the head; its size goes to the access log */
    head = c->rq->wbuf.data + c->rq->wbuf.rpos + before;
    end = memmem(head, (size_t) (c->rq->wbuf.data + c->rq->wbuf.wpos - head), "\r\n\r\n", 4);
    if (end != NULL)
        c->rq->body_total = (uint64_t) (c->rq->wbuf.data + c->rq->wbuf.wpos - end - 4);
    conn_set_state(c, CONN_WRITING);
}

void
conn_respond_redirect(struct conn *c, int status, const char *location,
                      const char *extra)
{
    struct http_head h;

    memset(&h, 0, sizeof(h));
    h.status = status;
    h.location = location;
    h.content_length = 0;
    h.extra = extra;
    conn_respond_head(c, &h, -1, 0, 0);
}

void
conn_respond_head(struct conn *c, struct http_head *h, int fd, off_t first,
                  off_t end)
{
    c->keepalive = conn_keepalive_ok(c);
    h->keepalive = c->keepalive;
    h->http10 = c->rq->req.version == 10;
    h->extra_conn = conn_hsts(c);
    c->rq->status = h->status;
    if (http_response_head(wctx.pool, &c->rq->wbuf, h) != RC_OK) {
        if (fd >= 0)
            close(fd);
        conn_set_state(c, CONN_CLOSING);
        return;
    }
    if (fd >= 0 && !c->rq->head_only && end > first) {
        c->rq->file_fd = fd;
        c->rq->file_pos = first;
        c->rq->file_end = end;
        c->rq->body_total = (uint64_t) (end - first);
    } else if (fd >= 0) {
        close(fd);
    }
    conn_set_state(c, CONN_WRITING);
}

void
conn_respond_body(struct conn *c, struct http_head *h, const char *body,
                  size_t len)
{
    h->content_length = (int64_t) len;
    conn_respond_head(c, h, -1, 0, 0);
    if (c->state != CONN_WRITING || c->rq->head_only || len == 0)
        return;
    if (buf_append(wctx.pool, &c->rq->wbuf, body, len) != RC_OK) {
        conn_set_state(c, CONN_CLOSING);
        return;
    }
    c->rq->body_total = len;
}

void
conn_respond_begin(struct conn *c, struct http_head *h, int fd)
{
    conn_respond_head(c, h, -1, 0, 0);
    if (c->state != CONN_WRITING || c->rq->head_only) {
        if (fd >= 0)
            close(fd);
        return;
    }
    c->rq->file_fd = fd;
    c->rq->body_total = h->content_length > 0 ? (uint64_t) h->content_length
                                              : 0;
}

/* Make the current piece of RQ's body (segs->cur) the one being sent. */
void
conn_seg_load(struct conn_req *rq)
{
    struct conn_segs *s = rq->segs;

    if (s->cur < s->n) {
        s->left = s->seg[s->cur].bytes;
        rq->file_pos = s->seg[s->cur].first;
        rq->file_end = s->seg[s->cur].end;
    } else {
        s->left = buf_len(&rq->wbuf);     /* the tail */
        rq->file_pos = rq->file_end = 0;
    }
}

int
conn_respond_add(struct conn *c, const char *data, size_t len, off_t first,
                 off_t end)
{
    struct conn_req *rq = c->rq;
    struct conn_segs *s;
    size_t before = 0;

    if (c->state != CONN_WRITING)
        return RC_ERR;
    if (rq->head_only)
        return RC_OK;
    if (len > 0 && buf_append(wctx.pool, &rq->wbuf, data, len) != RC_OK)
        goto fail;
    if (first >= end)
        return RC_OK;
    s = rq->segs;
    if (rq->file_fd < 0 || (s != NULL && s->n == CONN_RANGES_MAX)) {
        log_msg(LOG_ERR, "fd %d: a file range without a file, or more than "
                "%d of them", c->fd, CONN_RANGES_MAX);
        goto fail;
    }
    if (s == NULL) {
        s = mpool_alloc(wctx.pool, sizeof(*s));
        if (s == NULL)
            goto fail;
        s->n = s->cur = 0;
        rq->segs = s;
    }
    /* nothing was sent yet: wbuf holds what every range so far follows */
    for (uint8_t i = 0; i < s->n; i++)
        before += s->seg[i].bytes;
    s->seg[s->n].bytes = (uint32_t) (buf_len(&rq->wbuf) - before);
    s->seg[s->n].first = first;
    s->seg[s->n].end = end;
    if (++s->n == 1)
        conn_seg_load(rq);
    return RC_OK;

fail:
    conn_set_state(c, CONN_CLOSING);
    return RC_ERR;
}

const char *
conn_body(const struct conn *c, size_t *len)
{
    *len = c->rq->body_len;
    return c->rbuf.data + c->rbuf.rpos + c->rq->req.head_len;
}
