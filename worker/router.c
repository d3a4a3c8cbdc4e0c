/* router.c - method + path -> handler (see router.h). Worker only.
 * The table is tiny and fixed, so a linear scan is the fastest lookup.
 * Knows the handlers, not connections: it sees requests through txn.h.
 * SPDX-License-Identifier: MIT */
#include "router.h"

#include <stdio.h>
#include <string.h>

#include "defs.h"
#include "http_response.h"
#include "log.h"
#include "session.h"
#include "static_file.h"
#include "status.h"
#include "txn.h"
#include "worker_ctx.h"

/* What answers a request (txn_route()): an index in the table (>= 0), or
 * one of these. */
enum {
    ROUTER_STATIC = -1,             /* GET/HEAD of a file */
    ROUTER_STATIC_NOT_ALLOWED = -2, /* another method on a file: 405 */
    ROUTER_BAD_PATH = -3,           /* 400 */
    ROUTER_OPTIONS = -4,            /* OPTIONS: 200 with Allow */
    ROUTER_TO_HTTPS = -5,           /* redirect_to_https on the plain port */
    ROUTER_NOT_ALLOWED_BASE = -6    /* -6 - i: 405 for table entry i */
};

typedef void (*router_handler)(struct txn *t);

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

/* GET /healthz for load balancers: 200 while this worker takes work, 503
 * once it drains (QUIT, or a reload handed over to a new generation), so
 * a balancer's check takes it out while its last requests finish. Never
 * cached; HEAD gets the head. */
static void
router_healthz(struct txn *t)
{
    struct http_head h;

    memset(&h, 0, sizeof(h));
    h.status = wctx.draining ? 503 : 200;
    h.content_type = "text/plain; charset=utf-8";
    h.cache_control = "no-store";
    if (wctx.draining) {
        txn_respond_body(t, &h, "draining\n", 9);
        return;
    }
    txn_respond_body(t, &h, "ok\n", 3);
}

static const struct router_route router_routes[] = {
    { "/register", HTTP_POST, session_register, ROUTER_ALLOW_POST, ROUTER_FORM_MAX },
    { "/login",    HTTP_POST, session_login,    ROUTER_ALLOW_POST, ROUTER_FORM_MAX },
    { "/logout",   HTTP_POST, session_logout,   ROUTER_ALLOW_POST, ROUTER_FORM_MAX },
    { "/welcome",  HTTP_GET,  session_welcome,  ROUTER_ALLOW_GET,  0 },
    { "/healthz",  HTTP_GET,  router_healthz,   ROUTER_ALLOW_GET,  0 },
    { "/metrics",  HTTP_GET,  status_metrics,   ROUTER_ALLOW_GET,  0 },
    { "/status",   HTTP_GET,  status_page,      ROUTER_ALLOW_GET,  0 },
};

size_t
router_select(struct txn *t)
{
    int method = txn_method(t);
    const char *path = txn_path(t);

    if (path == NULL) {
        txn_set_route(t, ROUTER_BAD_PATH);
        return 0;
    }
    /* a balancer checks /healthz over plain HTTP, redirect or not; a
     * request a trusted proxy took over https is not redirected */
    if (wctx.cfg.redirect_to_https && !txn_is_secure(t)
        && strcmp(path, "/healthz") != 0) {
        txn_set_route(t, ROUTER_TO_HTTPS);
        return 0;
    }
    if (method == HTTP_OPTIONS) {
        txn_set_route(t, ROUTER_OPTIONS);
        return 0;
    }
    for (size_t i = 0; i < ARRAY_SIZE(router_routes); i++) {
        const struct router_route *r = &router_routes[i];
        /* every route is "/" and a letter: most paths part at that letter */
        if (path[0] != '/' || path[1] != r->path[1] || strcmp(path, r->path) != 0)
            continue;
        if (method == r->method || (r->method == HTTP_GET && method == HTTP_HEAD)) {
            txn_set_route(t, (int) i);
            return r->body_max;
        }
        txn_set_route(t, ROUTER_NOT_ALLOWED_BASE - (int) i);
        return 0;
    }
    txn_set_route(t, method == HTTP_GET || method == HTTP_HEAD
                     ? ROUTER_STATIC : ROUTER_STATIC_NOT_ALLOWED);
    return 0;
}

/* OPTIONS (RFC 9110 9.3.7): 200, no body, and the methods the target
 * takes in Allow. "*" asks about the server as a whole, and so does an
 * absolute-form target with an empty path and no query (what a proxy
 * forwards as "*", RFC 9112 3.2.4). A static path gets the static methods
 * whether or not a file is there: the methods do not depend on it. */
static void
router_options(struct txn *t)
{
    const char *allow = ROUTER_ALLOW_GET;
    const char *path = txn_path(t);
    struct http_head h;
    size_t plen, qlen;
    bool has_query;

    if (path == NULL) {
        txn_respond_error(t, 400, NULL);
        return;
    }
    txn_raw_path(t, &plen);
    txn_query(t, &qlen, &has_query);
    if (strcmp(path, "*") == 0 || (plen == 0 && !has_query && qlen == 0)) {
        allow = ROUTER_ALLOW_ANY;
    } else {
        for (size_t i = 0; i < ARRAY_SIZE(router_routes); i++) {
            if (strcmp(path, router_routes[i].path) == 0)
                allow = router_routes[i].allow;
        }
    }
    memset(&h, 0, sizeof(h));
    h.status = 200;
    h.content_length = 0;
    h.extra = allow;
    txn_respond_head(t, &h, -1, 0, 0);
}

/* redirect_to_https: GET and HEAD get 308 to the same target on https
 * (the TLS port named unless it is 443); other methods 403, since a
 * redirected POST would carry its body (a password) in clear once more. */
static void
router_to_https(struct txn *t)
{
    char *loc = wctx.scratch + 2 * wctx.scratch_len;
    char port[16] = "";
    const char *host, *target, *query;
    size_t hlen, plen, qlen, n;
    bool has_query;
    int method = txn_method(t);

    if (method != HTTP_GET && method != HTTP_HEAD) {
        txn_respond_error(t, 403, NULL);
        return;
    }
    host = txn_host(t, &hlen);
    if (hlen == 0) {
        host = wctx.cfg.listen_address;
        hlen = strlen(host);
    } else {
        /* drop the plain port: "h:80", "[::1]:80" */
        for (size_t i = hlen; i > 0; i--) {
            if (host[i - 1] == ']')
                break;
            if (host[i - 1] == ':') {
                hlen = i - 1;
                break;
            }
        }
    }
    if (wctx.cfg.tls_bound_port != 443 && wctx.cfg.tls_bound_port > 0)
        snprintf(port, sizeof(port), ":%d", wctx.cfg.tls_bound_port);
    target = txn_raw_path(t, &plen);
    query = txn_query(t, &qlen, &has_query);
    if (plen == 0 || target[0] != '/') {
        target = "/";           /* "*" or an absolute form: the root */
        plen = 1;
        qlen = 0;
        has_query = false;
    }
    n = (size_t) snprintf(loc, wctx.scratch_len, "https://%.*s%s%.*s%s%.*s",
                          (int) hlen, host, port, (int) plen, target,
                          has_query ? "?" : "", (int) qlen,
                          query);
    if (n >= wctx.scratch_len) {
        txn_respond_error(t, 414, NULL);
        return;
    }
    txn_respond_redirect(t, 308, loc, NULL);
}

void
router_dispatch(struct txn *t)
{
    int route = txn_route(t);
    const char *path;

    if (route >= 0 && (size_t) route < ARRAY_SIZE(router_routes)) {
        router_routes[route].handler(t);
        return;
    }
    switch (route) {
    case ROUTER_STATIC:
        /* the scratch area may have served others since router_select() */
        path = txn_path(t);
        if (path == NULL)
            txn_respond_error(t, 400, NULL);
        else
            static_file_serve(t, path);
        return;
    case ROUTER_STATIC_NOT_ALLOWED:
        txn_respond_error(t, 405, ROUTER_ALLOW_GET);
        return;
    case ROUTER_OPTIONS:
        router_options(t);
        return;
    case ROUTER_BAD_PATH:
        txn_respond_error(t, 400, NULL);
        return;
    case ROUTER_TO_HTTPS:
        router_to_https(t);
        return;
    default:
        route = ROUTER_NOT_ALLOWED_BASE - route;
        if (route >= 0 && (size_t) route < ARRAY_SIZE(router_routes)) {
            txn_respond_error(t, 405, router_routes[route].allow);
            return;
        }
        log_msg(LOG_ERR, "no route %d", txn_route(t));
        txn_respond_error(t, 500, NULL);
        return;
    }
}
