/* proxy_proto.h - the PROXY protocol header (versions 1 and 2) that a load
 * balancer such as HAProxy ("send-proxy", "send-proxy-v2") puts before the
 * first byte of a connection to tell the client's address. A pure parser:
 * no I/O, no allocation, no state between calls. The caller passes every
 * byte received so far on the connection and calls again with more; a
 * prefix that cannot start a valid header is refused as soon as it is
 * seen, so a client that speaks HTTP at once is told off at its first
 * byte. Worker only (conn.c), but plain C: unit and fuzz tests compile it
 * alone.
 * SPDX-License-Identifier: MIT */
#ifndef WORKER_PROXY_PROTO_H
#define WORKER_PROXY_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest version 1 line, "PROXY UNKNOWN <v6> <v6> 65535 65535\r\n". */
#define PROXY_PROTO_V1_MAX    107
/* Version 2: the fixed part, and the most address and TLV bytes we take.
 * The protocol allows 65535; HAProxy sends the addresses and a few small
 * TLVs. A larger header is refused rather than buffered, which bounds what
 * a connection may hold before its first request. */
#define PROXY_PROTO_V2_FIXED  16
#define PROXY_PROTO_V2_BODY_MAX 1024
/* Room for an address as text (INET6_ADDRSTRLEN). */
#define PROXY_PROTO_ADDR_MAX  46

struct proxy_proto_hdr {
    uint8_t  version;       /* 1 or 2 */
    bool     local;         /* v2 LOCAL (a health check of the proxy) */
    bool     has_addr;      /* false: keep the socket's peer (LOCAL,
                             * UNKNOWN, AF_UNSPEC, AF_UNIX) */
    uint8_t  family;        /* AF_INET or AF_INET6 when has_addr */
    uint8_t  src[16];       /* source address, network order (4 or 16) */
    uint16_t src_port;
    uint32_t len;           /* bytes of the header: the request follows */
};

/* Parse DATA[0, LEN), the first bytes of a connection. Returns RC_OK with
 * *H filled (H->len bytes are the header), RC_AGAIN when these bytes may
 * still begin a valid header, or RC_ERR when they cannot; *WHY (if not
 * NULL) then points to a static reason for the log ("no PROXY signature",
 * "bad v1 source address", ...). */
int proxy_proto_parse(const char *data, size_t len, struct proxy_proto_hdr *h,
                      const char **why);

/* H's source address as text ("192.0.2.1", "2001:db8::1") into OUT (CAP
 * bytes, at least PROXY_PROTO_ADDR_MAX). Returns RC_OK, or RC_ERR when H
 * has no address. */
int proxy_proto_addr_text(const struct proxy_proto_hdr *h, char *out,
                          size_t cap);

#endif
