/* txn.h - the handler API: what a handler may know about the request it
 * answers, how it answers, and how it waits. Worker only; single-threaded.
 * Handlers (static_file.c, session.c) and the router see this header, never
 * struct conn: a struct txn * names the current request of a connection
 * and is valid until the handler returns (or, after txn_suspend(), until
 * the answer is given); callbacks that come later hold a txn_ref() and get
 * the txn back with txn_from_ref(), which says NULL once that request is
 * over. h2o's h2o_req_t and h2o_send_inline() are the model.
 * Strings returned point into the request and live as long as it does;
 * they are not NUL-terminated unless the comment says so.
 * SPDX-License-Identifier: MIT */
#ifndef WORKER_TXN_H
#define WORKER_TXN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "http_parse.h"
#include "http_response.h"

struct txn;

/* ---- The request ---- */

/* HTTP_GET, HTTP_HEAD, HTTP_POST, ... (http_parse.h). */
int txn_method(const struct txn *t);

/* The decoded path ("/" for an empty one, "*" for OPTIONS *),
 * NUL-terminated, in the worker's first scratch area: valid until the next
 * call. NULL when it does not decode (a bad escape, an encoded NUL). */
const char *txn_path(struct txn *t);

/* The raw path and query as sent (not decoded). *HAS_QUERY tells "?"
 * from no query at all when the query is empty. */
const char *txn_raw_path(const struct txn *t, size_t *len);
const char *txn_query(const struct txn *t, size_t *len, bool *has_query);

/* Header values the handlers use; *LEN 0 when the header is absent. */
const char *txn_cookie(const struct txn *t, size_t *len);
const char *txn_content_type(const struct txn *t, size_t *len);
const char *txn_accept_encoding(const struct txn *t, size_t *len);
const char *txn_range(const struct txn *t, size_t *len);
const char *txn_origin(const struct txn *t, size_t *len);
const char *txn_referer(const struct txn *t, size_t *len);

/* The parsed head, for code that evaluates several headers at once
 * (preconditions); its slices point into txn_head_data(). */
const struct http_request *txn_request(const struct txn *t);
const char *txn_head_data(const struct txn *t);

/* The decoded request body and its length (0 when there is none; only
 * a route that asked for a body at select time gets one). */
const char *txn_body(const struct txn *t, size_t *len);

/* The client's address as text ("192.0.2.1", "::1"; "-" when unknown),
 * NUL-terminated, valid while the request lives: the socket's peer, or
 * the address a PROXY protocol header gave (proxy_protocol), or, when that
 * peer is in trusted_proxies, the client X-Forwarded-For names. The one
 * source of the client address for every handler and the access log. */
const char *txn_client_addr(struct txn *t);

/* Did the request come over TLS (the https port)? */
bool txn_is_tls(const struct txn *t);

/* Does the request count as secure: TLS, or a peer in trusted_proxies
 * that says "X-Forwarded-Proto: https"? For Secure cookies and
 * redirect_to_https. */
bool txn_is_secure(const struct txn *t);

/* The Host header's value (host [":" port]); *LEN 0 when absent. */
const char *txn_host(const struct txn *t, size_t *len);

/* A small number the router keeps with the request between choosing a
 * handler (on the head) and calling it (after the body). */
void txn_set_route(struct txn *t, int route);
int txn_route(const struct txn *t);

/* ---- Replies: each leaves the request answered (or closing) ---- */

/* Bytes from a file that one response may interleave with buffered ones
 * (a multipart/byteranges body): at most this many ranges. */
#define TXN_RANGES_MAX 16

/* Error page for STATUS; EXTRA: more "Name: value\r\n" lines or NULL.
 * Statuses that leave the request framing in doubt (400, 408, 413, 414,
 * 417, 431, 501, 505) close the connection after it. */
void txn_respond_error(struct txn *t, int status, const char *extra);

/* STATUS (301, 303, ...) to LOCATION, with an empty body. */
void txn_respond_redirect(struct txn *t, int status, const char *location,
                          const char *extra);

/* Head H (keep-alive and version are filled in here) and, unless FD is
 * -1, a body of bytes [FIRST, END) of FD by sendfile. FD is owned by the
 * request from now on. HEAD requests get the head only. */
void txn_respond_head(struct txn *t, struct http_head *h, int fd,
                      off_t first, off_t end);

/* Head H and an in-memory BODY of LEN bytes (copied). */
void txn_respond_body(struct txn *t, struct http_head *h, const char *body,
                      size_t len);

/* Head H (content_length: the whole body) for a body built in pieces with
 * txn_respond_add(); FD (or -1 when every piece is in memory) is owned by
 * the request from now on. */
void txn_respond_begin(struct txn *t, struct http_head *h, int fd);

/* Add LEN bytes of DATA (copied), then, unless FIRST == END, bytes
 * [FIRST, END) of the file given to txn_respond_begin(). Returns RC_OK, or
 * RC_ERR (the request is then closing: stop adding). */
int txn_respond_add(struct txn *t, const char *data, size_t len,
                    off_t first, off_t end);

/* ---- Waiting ---- */

/* A weak reference to T's request for callback arguments: its connection
 * slot and sequence number, packed in a pointer. */
void *txn_ref(const struct txn *t);

/* The txn REF names, or NULL when that request is over (answered by the
 * wait's backstop timer, its connection closed or serving a later
 * request): a late reply is dropped, never applied to another request. */
struct txn *txn_from_ref(void *ref);

/* The handler returns without answering; a callback answers later and
 * calls txn_resume(). A client that goes away meanwhile is noticed (the
 * request ends, see txn_on_abort()), and the wait is bounded by
 * redis_timeout + send_timeout, after which the client gets 503. */
void txn_suspend(struct txn *t);

/* A suspended T was answered (txn_respond_*()): send it. */
void txn_resume(struct txn *t);

/* Work started for T that should stop if the request ends first (a queued
 * password hash): CANCEL(ARG) runs then, once. NULL forgets it. */
void txn_on_abort(struct txn *t, void (*cancel)(uint64_t), uint64_t arg);

#endif
