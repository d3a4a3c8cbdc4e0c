/* proxy_client.h - what the PROXY protocol and trusted-proxy tests share:
 * a client socket bound to a chosen loopback source address, PROXY v1/v2
 * headers to put in front of a request, form posts, and access-log lines
 * looked up by client address. Builds on harness.h; same conventions
 * (0 / -1 results, reasons on stderr, every wait bounded).
 * SPDX-License-Identifier: MIT */
#ifndef TESTS_INTEGRATION_PROXY_CLIENT_H
#define TESTS_INTEGRATION_PROXY_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness.h"

/* Longest header pc_proxy_v2() makes (IPv6 addresses, no TLV). */
#define PC_PROXY_MAX 128

/* Connect C to 127.0.0.1:PORT from SRC ("127.0.0.2"; NULL: the kernel's
 * choice), with the harness's I/O timeouts and TCP_NODELAY. Returns 0 or
 * -1. */
int pc_connect(struct http_conn *c, const char *src, int port);

/* "PROXY TCP4|TCP6 SRC DST SPORT DPORT\r\n" (the family from SRC) into
 * OUT. Returns its length. */
size_t pc_proxy_v1(char *out, size_t cap, const char *src, int sport,
                   int dport);

/* A v2 PROXY (TCP over IPv4 or IPv6, from SRC's family) header, or with
 * SRC NULL a LOCAL one, into OUT (PC_PROXY_MAX bytes). Returns its length. */
size_t pc_proxy_v2(uint8_t *out, const char *src, int sport, int dport);

/* POST BODY as a form to PATH on C (Content-Length, COOKIE "sid=..." or
 * NULL, EXTRA header lines or NULL) and read the answer into R. Returns
 * HTTP_OK or the harness's error. */
int pc_post_form(struct http_conn *c, const char *path, const char *body,
                 const char *cookie, const char *extra, struct http_resp *r);

/* The "sid=..." pair of R's Set-Cookie into OUT, or "" (returns -1). */
int pc_cookie(const struct http_resp *r, char *out, size_t cap);

/* Does the access log LOG have a line from client ADDR (its first field)
 * that contains NEEDLE? Waits for it at most TIMEOUT_MS (the log is
 * flushed about once a second); 0 looks once, quietly. */
bool pc_log_wait(const char *log, const char *addr, const char *needle,
                 int timeout_ms);

/* Is there a line containing NEEDLE whose client is not ADDR? (Looks
 * once.) */
bool pc_log_other_client(const char *log, const char *addr,
                         const char *needle);

/* Bytes the server has not yet read on the TCP connection from local
 * port CLIENT_PORT to SERVER_PORT (/proc/net/tcp, tcp6), or -1 when it is
 * not found. */
long pc_server_unread(int server_port, int client_port);

/* Wait (at most TIMEOUT_MS) until the server has read all that C sent.
 * Returns 0, or -1 on timeout. */
int pc_wait_read(const struct http_conn *c, int server_port, int timeout_ms);

/* The local port of C's socket, or -1. */
int pc_local_port(const struct http_conn *c);

#endif
