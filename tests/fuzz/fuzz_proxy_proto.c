/* fuzz_proxy_proto.c - libFuzzer target for worker/proxy_proto.h.
 * Every input is parsed whole and as each of its prefixes (each a fresh
 * exact-size heap copy, so ASan sees any over-read). Invariants, checked
 * with __builtin_trap() so that a violation is a crash with the input
 * saved:
 * - RC_OK: a header of version 1 (at most 107 bytes) or 2 (at most
 *   16 + PROXY_PROTO_V2_BODY_MAX), no longer than the input; an address
 *   only of AF_INET/AF_INET6, which formats; v1 ends in CRLF;
 * - RC_ERR always comes with a reason;
 * - prefixes: RC_AGAIN before the header's last byte and the same header
 *   from there on; once a prefix is refused, every longer one is too.
 * SPDX-License-Identifier: MIT */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "defs.h"
#include "proxy_proto.h"

#define FUZZ_MAX_LEN 2048

#define CHECK(cond)                                                         \
    do {                                                                    \
        if (!(cond))                                                        \
            __builtin_trap();                                               \
    } while (0)

static int
parse_copy(const uint8_t *data, size_t len, struct proxy_proto_hdr *h,
           const char **why)
{
    char *copy = malloc(len > 0 ? len : 1);
    int rc;

    if (copy == NULL)
        abort();
    if (len > 0)
        memcpy(copy, data, len);
    rc = proxy_proto_parse(copy, len, h, why);
    free(copy);
    return rc;
}

static bool
same(const struct proxy_proto_hdr *a, const struct proxy_proto_hdr *b)
{
    return a->version == b->version && a->local == b->local
        && a->has_addr == b->has_addr && a->family == b->family
        && memcmp(a->src, b->src, sizeof(a->src)) == 0
        && a->src_port == b->src_port && a->len == b->len;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    struct proxy_proto_hdr whole, h;
    const char *why = NULL;
    char text[PROXY_PROTO_ADDR_MAX];
    bool refused = false;
    int rc;

    if (len > FUZZ_MAX_LEN)
        return 0;
    rc = parse_copy(data, len, &whole, &why);
    CHECK(rc == RC_OK || rc == RC_AGAIN || rc == RC_ERR);
    CHECK(rc != RC_ERR || why != NULL);
    if (rc == RC_OK) {
        CHECK(whole.len <= len);
        CHECK(whole.version == 1 || whole.version == 2);
        if (whole.version == 1) {
            CHECK(whole.len <= PROXY_PROTO_V1_MAX);
            CHECK(data[whole.len - 2] == '\r' && data[whole.len - 1] == '\n');
            CHECK(!whole.local);
        } else {
            CHECK(whole.len >= PROXY_PROTO_V2_FIXED);
            CHECK(whole.len <= PROXY_PROTO_V2_FIXED + PROXY_PROTO_V2_BODY_MAX);
        }
        CHECK(!whole.has_addr || whole.family == AF_INET
              || whole.family == AF_INET6);
        CHECK(!(whole.has_addr && whole.local));
        CHECK((proxy_proto_addr_text(&whole, text, sizeof(text)) == RC_OK)
              == whole.has_addr);
    }
    for (size_t k = 0; k < len; k++) {
        int prc = parse_copy(data, k, &h, NULL);
        if (refused) {
            CHECK(prc == RC_ERR);
            continue;
        }
        if (rc == RC_OK) {
            CHECK(prc == (k < whole.len ? RC_AGAIN : RC_OK));
            if (prc == RC_OK)
                CHECK(same(&h, &whole));
            continue;
        }
        CHECK(prc != RC_OK);
        refused = prc == RC_ERR;
    }
    CHECK(!refused || rc == RC_ERR);
    return 0;
}
