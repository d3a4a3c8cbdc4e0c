/* router.c - method + path -> handler (see router.h). Worker only.
 * The table is tiny and fixed, so a linear scan is the fastest lookup.
 * SPDX-License-Identifier: MIT */
#include "router.h"

#include <string.h>

#include "conn.h"
#include "defs.h"
#include "session.h"
#include "static_file.h"
#include "worker_ctx.h"

typedef void (*router_handler)(struct conn *c);

struct router_route {
    const char     *path;
    int             method;     /* the one method it takes (GET also HEAD) */
    router_handler  handler;
    const char     *allow;      /* Allow header for 405 */
};

static const struct router_route router_routes[] = {
    { "/register", HTTP_POST, session_register, "Allow: POST\r\n" },
    { "/login",    HTTP_POST, session_login,    "Allow: POST\r\n" },
    { "/logout",   HTTP_POST, session_logout,   "Allow: POST\r\n" },
    { "/welcome",  HTTP_GET,  session_welcome,  "Allow: GET, HEAD\r\n" },
};

void
router_dispatch(struct conn *c)
{
    char *path = wctx.scratch;
    int n, method = c->rq->req.method;

    if (c->rq->req.path.len == 0) {
        path[0] = '/';
        path[1] = '\0';
        n = 1;
    } else {
        n = http_decode_path(conn_req_ptr(c, c->rq->req.path), c->rq->req.path.len,
                             path);
    }
    if (n < 0) {
        conn_respond_error(c, 400, NULL);
        return;
    }
    if ((size_t) n != strlen(path)) {
        conn_respond_error(c, 400, NULL);   /* NUL smuggled in */
        return;
    }

    for (size_t i = 0; i < ARRAY_SIZE(router_routes); i++) {
        const struct router_route *r = &router_routes[i];
        if (strcmp(path, r->path) != 0)
            continue;
        if (method == r->method || (r->method == HTTP_GET && method == HTTP_HEAD)) {
            r->handler(c);
            return;
        }
        conn_respond_error(c, 405, r->allow);
        return;
    }
    if (method == HTTP_GET || method == HTTP_HEAD) {
        static_file_serve(c, path);
        return;
    }
    conn_respond_error(c, 405, "Allow: GET, HEAD\r\n");
}
