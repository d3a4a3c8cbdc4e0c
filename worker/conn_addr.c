/* conn_addr.c - who a connection's client is (see conn.h): the socket's
 * peer, or the address a PROXY protocol header names (proxy_protocol), or
 * the one a trusted proxy's X-Forwarded-For names (trusted_proxies), and
 * whether its request counts as secure. Worker only; single-threaded.
 * SPDX-License-Identifier: MIT */
#include "conn.h"

#include "conn_pool.h"
#include "defs.h"
#include "forwarded.h"
#include "log.h"
#include "net.h"
#include "proxy_proto.h"
#include "worker_ctx.h"

const char *
conn_peer(struct conn *c)
{
    char *peer = conn_pool_peer(c);

    if (!c->peer_known) {
        net_peer_name(c->fd, peer, CONN_POOL_PEER_MAX);
        c->peer_known = true;
    }
    return peer;
}

/* ---- Trusted proxies ---- */

/* What trusted_proxies make of C's current request, once: nothing unless
 * its head is complete and the peer is trusted; then X-Forwarded-For may
 * name the client and X-Forwarded-Proto say https. */
static void
conn_forwarded(struct conn *c)
{
    const struct config_cidrs *tp = &wctx.cfg.trusted_proxies;
    struct conn_req *rq = c->rq;

    rq->fwd = CONN_FWD_DONE;
    if (rq->parser.state != HTTP_PARSE_DONE
        || !net_cidr_match(tp->v, tp->n, conn_peer(c)))
        return;
    if (rq->req.xfp_https)
        rq->fwd |= CONN_FWD_HTTPS;
    if (forwarded_client(c->rbuf.data + c->rbuf.rpos, &rq->req, tp->v, tp->n,
                         conn_pool_client(c), CONN_POOL_PEER_MAX))
        rq->fwd |= CONN_FWD_ADDR;
}

const char *
conn_client(struct conn *c)
{
    if (c->rq == NULL || wctx.cfg.trusted_proxies.n == 0)
        return conn_peer(c);
    if (!(c->rq->fwd & CONN_FWD_DONE))
        conn_forwarded(c);
    return (c->rq->fwd & CONN_FWD_ADDR) ? conn_pool_client(c) : conn_peer(c);
}

bool
conn_is_secure(struct conn *c)
{
    if (c->tp->secure)
        return true;
    if (c->rq == NULL || wctx.cfg.trusted_proxies.n == 0)
        return false;
    if (!(c->rq->fwd & CONN_FWD_DONE))
        conn_forwarded(c);
    return (c->rq->fwd & CONN_FWD_HTTPS) != 0;
}

/* ---- PROXY protocol ---- */

int
conn_proxy(struct conn *c)
{
    struct proxy_proto_hdr h;
    const char *why = NULL;
    int rc;

    for (;;) {
        rc = buf_len(&c->rbuf) == 0 ? RC_AGAIN
             : proxy_proto_parse(c->rbuf.data + c->rbuf.rpos,
                                 buf_len(&c->rbuf), &h, &why);
        if (rc == RC_OK)
            break;
        if (rc == RC_ERR) {
            log_msg(LOG_INFO, "fd %d: closing a connection without a valid "
                    "PROXY protocol header: %s", c->fd, why);
            return RC_ERR;
        }
        rc = conn_read_more(c, "before its PROXY protocol header was "
                            "complete");
        if (rc != RC_OK)
            return rc;
    }
    /* no address (LOCAL, UNKNOWN): the socket's peer, asked now, while
     * the proxy is surely still connected (a health check hangs up as soon
     * as it has its answer, before the access log asks) */
    c->peer_known = h.has_addr
                    && proxy_proto_addr_text(&h, conn_pool_peer(c),
                                             CONN_POOL_PEER_MAX) == RC_OK;
    if (!c->peer_known)
        (void) conn_peer(c);
    c->rbuf.rpos += h.len;
    if (buf_len(&c->rbuf) == 0)
        buf_release(wctx.pool, &c->rbuf);
    return RC_OK;
}
