/* test_sizes.c - guards the size of hot structs (memcached's `sizes`).
 * SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>

#include "chan.h"
#include "conn.h"
#include "defs.h"

/* struct conn is what an idle keep-alive connection costs (its request
 * state lives apart, in struct conn_req, only while a request runs); the
 * load test compares that against nginx. Raise these on purpose, not by
 * accident. */
#define CONN_SIZE_MAX     128   /* 256 with a libevent event in it */
#define CONN_REQ_SIZE_MAX 376   /* 320 before the body deadline, discard
                                 * count, request sequence and abort hook;
                                 * 352 before If-Match, If-Unmodified-Since,
                                 * Accept-Encoding and the multipart body's
                                 * pieces (a pointer); 360 before Origin
                                 * (the cross-site check) and
                                 * X-Forwarded-For (trusted_proxies) */

static void
test_sizes_conn(void **state)
{
    UNUSED(state);
    printf("sizeof(struct conn) = %zu (limit %d)\n", sizeof(struct conn),
           CONN_SIZE_MAX);
    printf("  timer %zu, rbuf %zu; conn_req %zu (limit %d): parser "
           "%zu, req %zu, chunked %zu\n", sizeof(struct timer_node),
           sizeof(struct buf), sizeof(struct conn_req),
           CONN_REQ_SIZE_MAX, sizeof(struct http_parser),
           sizeof(struct http_request), sizeof(struct http_chunked));
    assert_true(sizeof(struct conn) <= CONN_SIZE_MAX);
    assert_true(sizeof(struct conn_req) <= CONN_REQ_SIZE_MAX);
    /* a conn_ref fits in a register pair; callbacks pack it in a pointer */
    assert_int_equal(sizeof(struct conn_ref), 8);
}

static void
test_sizes_chan_msg(void **state)
{
    UNUSED(state);
    printf("sizeof(struct chan_msg) = %zu\n", sizeof(struct chan_msg));
    /* the wire format between master and worker: fixed, no padding */
    assert_int_equal(sizeof(struct chan_msg), 8);
    assert_int_equal(offsetof(struct chan_msg, type), 0);
    assert_int_equal(offsetof(struct chan_msg, arg), 4);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes_conn),
        cmocka_unit_test(test_sizes_chan_msg),
    };

    return cmocka_run_group_tests_name("sizes", tests, NULL, NULL);
}
