/* test_redis_sentinel.c - redis_sentinel.h: the pure parser of
 * +switch-master payloads ("<name> <old-ip> <old-port> <new-ip>
 * <new-port>"), table-driven. The discovery itself runs against real
 * redis-sentinel processes in tests/integration/test_sentinel.c.
 * SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "defs.h"
#include "redis_sentinel.h"

struct switch_case {
    int         line;
    const char *msg;
    const char *name;
    int         rc;
    const char *host;           /* RC_OK */
    int         port;
};

static const struct switch_case switch_cases[] = {
    { __LINE__, "mymaster 127.0.0.1 6379 127.0.0.1 6380", "mymaster",
      RC_OK, "127.0.0.1", 6380 },
    { __LINE__, "mymaster 10.0.0.1 6379 ::1 7000", "mymaster",
      RC_OK, "::1", 7000 },
    { __LINE__, "mymaster old 1 redis-2.example 65535", "mymaster",
      RC_OK, "redis-2.example", 65535 },
    { __LINE__, "mymaster 127.0.0.1 6379 127.0.0.1 6380 ", "mymaster",
      RC_OK, "127.0.0.1", 6380 },
    /* another master of the same sentinels */
    { __LINE__, "other 127.0.0.1 6379 127.0.0.1 6380", "mymaster",
      RC_DONE, NULL, 0 },
    { __LINE__, "mymaster2 127.0.0.1 6379 127.0.0.1 6380", "mymaster",
      RC_DONE, NULL, 0 },
    { __LINE__, "mymast 127.0.0.1 6379 127.0.0.1 6380", "mymaster",
      RC_DONE, NULL, 0 },
    /* malformed */
    { __LINE__, "", "mymaster", RC_ERR, NULL, 0 },
    { __LINE__, "mymaster 127.0.0.1 6379 127.0.0.1", "mymaster",
      RC_ERR, NULL, 0 },
    { __LINE__, "mymaster 127.0.0.1 6379 127.0.0.1 6380 extra", "mymaster",
      RC_ERR, NULL, 0 },
    { __LINE__, "mymaster 127.0.0.1 6379 127.0.0.1 0", "mymaster",
      RC_ERR, NULL, 0 },
    { __LINE__, "mymaster 127.0.0.1 6379 127.0.0.1 65536", "mymaster",
      RC_ERR, NULL, 0 },
    { __LINE__, "mymaster 127.0.0.1 6379 127.0.0.1 63x0", "mymaster",
      RC_ERR, NULL, 0 },
    { __LINE__, "mymaster 127.0.0.1 6379 127.0.0.1 -1", "mymaster",
      RC_ERR, NULL, 0 },
    { __LINE__, "mymaster 127.0.0.1 6379 127.0.0.1 0000006380", "mymaster",
      RC_ERR, NULL, 0 },
};

static void
test_redis_sentinel_parse_switch_table(void **state)
{
    (void) state;
    for (size_t i = 0; i < sizeof(switch_cases) / sizeof(switch_cases[0]);
         i++) {
        const struct switch_case *c = &switch_cases[i];
        char host[64] = "unchanged";
        int port = -7;
        int rc = redis_sentinel_parse_switch(c->msg, strlen(c->msg), c->name,
                                             host, sizeof(host), &port);

        if (rc != c->rc) {
            print_error("case at line %d: rc %d, want %d\n", c->line, rc,
                        c->rc);
            fail();
        }
        if (rc == RC_OK && (strcmp(host, c->host) != 0 || port != c->port)) {
            print_error("case at line %d: %s:%d, want %s:%d\n", c->line,
                        host, port, c->host, c->port);
            fail();
        }
        if (rc != RC_OK && (strcmp(host, "unchanged") != 0 || port != -7)) {
            print_error("case at line %d: output written on rc %d\n",
                        c->line, rc);
            fail();
        }
    }
}

/* The payload is not NUL-terminated (hiredis gives a length): bytes after
 * LEN are not read, and a host longer than the buffer is refused. */
static void
test_redis_sentinel_parse_switch_bounds(void **state)
{
    const char *msg = "mymaster 127.0.0.1 6379 127.0.0.1 6380999";
    char host[64], small[9];
    int port = 0;

    (void) state;
    assert_int_equal(redis_sentinel_parse_switch(msg, strlen(msg) - 3,
                                                 "mymaster", host,
                                                 sizeof(host), &port), RC_OK);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 6380);
    assert_int_equal(redis_sentinel_parse_switch(msg, strlen(msg) - 3,
                                                 "mymaster", small,
                                                 sizeof(small), &port),
                     RC_ERR);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redis_sentinel_parse_switch_table),
        cmocka_unit_test(test_redis_sentinel_parse_switch_bounds),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
