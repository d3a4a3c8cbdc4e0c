/* router.c - method + path -> handler (see router.h). Worker only.
 * The table is tiny and fixed, so a linear scan is the fastest lookup.
 * SPDX-License-Identifier: MIT */
#include "router.h"

#include <string.h>

#include "conn.h"
#include "defs.h"
#include "http_response.h"
#include "log.h"
#include "session.h"
#include "static_file.h"
#include "worker_ctx.h"

typedef void (*router_handler)(struct conn *c);

struct router_route {
    const char     *path;
    int             method;     /* the one method it takes (GET also HEAD) */
    router_handler  handler;
    const char     *allow;      /* Allow header for 405 and OPTIONS */
    size_t          body_max;   /* largest body it reads; 0: none */
};

/* Every path also answers OPTIONS, so every Allow names it. */
#define ROUTER_ALLOW_POST   "Allow: POST, OPTIONS\r\n"
#define ROUTER_ALLOW_GET    "Allow: GET, HEAD, OPTIONS\r\n"
#define ROUTER_ALLOW_ANY    "Allow: GET, HEAD, POST, OPTIONS\r\n"

static const struct router_route router_routes[] = {
    { "/register", HTTP_POST, session_register, ROUTER_ALLOW_POST, ROUTER_FORM_MAX },
    { "/login",    HTTP_POST, session_login,    ROUTER_ALLOW_POST, ROUTER_FORM_MAX },
    { "/logout",   HTTP_POST, session_logout,   ROUTER_ALLOW_POST, ROUTER_FORM_MAX },
    { "/welcome",  HTTP_GET,  session_welcome,  ROUTER_ALLOW_GET,  0 },
};

/* Decode the request path into wctx.scratch. Returns its length or -1. */
static int
router_path(struct conn *c)
{
    char *path = wctx.scratch;
    int n;

    if (c->rq->req.path.len == 0) {
        path[0] = '/';
        path[1] = '\0';
        return 1;
    }
    n = http_decode_path(conn_req_ptr(c, c->rq->req.path), c->rq->req.path.len,
                         path);
    if (n < 0 || (size_t) n != strlen(path))    /* bad escape, NUL smuggled in */
        return -1;
    return n;
}

size_t
router_select(struct conn *c)
{
    int method = c->rq->req.method;

    if (router_path(c) < 0) {
        c->rq->route = CONN_ROUTE_BAD_PATH;
        return 0;
    }
    if (method == HTTP_OPTIONS) {
        c->rq->route = CONN_ROUTE_OPTIONS;
        return 0;
    }
    for (size_t i = 0; i < ARRAY_SIZE(router_routes); i++) {
        const struct router_route *r = &router_routes[i];
        if (strcmp(wctx.scratch, r->path) != 0)
            continue;
        if (method == r->method || (r->method == HTTP_GET && method == HTTP_HEAD)) {
            c->rq->route = (int8_t) i;
            return r->body_max;
        }
        c->rq->route = (int8_t) (CONN_ROUTE_NOT_ALLOWED_BASE - (int) i);
        return 0;
    }
    c->rq->route = method == HTTP_GET || method == HTTP_HEAD
                   ? CONN_ROUTE_STATIC : CONN_ROUTE_STATIC_NOT_ALLOWED;
    return 0;
}

/* OPTIONS (RFC 9110 9.3.7): 200, no body, and the methods the target
 * takes in Allow. "*" asks about the server as a whole, and so does an
 * absolute-form target with an empty path and no query (what a proxy
 * forwards as "*", RFC 9112 3.2.4). A static path gets the static methods
 * whether or not a file is there: the methods do not depend on it. */
static void
router_options(struct conn *c)
{
    const struct http_request *req = &c->rq->req;
    const char *allow = ROUTER_ALLOW_GET;
    struct http_head h;

    if (router_path(c) < 0) {
        conn_respond_error(c, 400, NULL);
        return;
    }
    if (strcmp(wctx.scratch, "*") == 0
        || (req->path.len == 0 && req->query.off == 0 && req->query.len == 0)) {
        allow = ROUTER_ALLOW_ANY;
    } else {
        for (size_t i = 0; i < ARRAY_SIZE(router_routes); i++) {
            if (strcmp(wctx.scratch, router_routes[i].path) == 0)
                allow = router_routes[i].allow;
        }
    }
    memset(&h, 0, sizeof(h));
    h.status = 200;
    h.content_length = 0;
    h.extra = allow;
    conn_respond_head(c, &h, -1, 0, 0);
}

void
router_dispatch(struct conn *c)
{
    int route = c->rq->route;

    if (route >= 0 && (size_t) route < ARRAY_SIZE(router_routes)) {
        router_routes[route].handler(c);
        return;
    }
    switch (route) {
    case CONN_ROUTE_STATIC:
        /* the scratch area may have served others since router_select() */
        if (router_path(c) < 0)
            conn_respond_error(c, 400, NULL);
        else
            static_file_serve(c, wctx.scratch);
        return;
    case CONN_ROUTE_STATIC_NOT_ALLOWED:
        conn_respond_error(c, 405, ROUTER_ALLOW_GET);
        return;
    case CONN_ROUTE_OPTIONS:
        router_options(c);
        return;
    case CONN_ROUTE_BAD_PATH:
        conn_respond_error(c, 400, NULL);
        return;
    default:
        route = CONN_ROUTE_NOT_ALLOWED_BASE - route;
        if (route >= 0 && (size_t) route < ARRAY_SIZE(router_routes)) {
            conn_respond_error(c, 405, router_routes[route].allow);
            return;
        }
        log_msg(LOG_ERR, "fd %d: no route %d", c->fd, c->rq->route);
        conn_respond_error(c, 500, NULL);
        return;
    }
}
