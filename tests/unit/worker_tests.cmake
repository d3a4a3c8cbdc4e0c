# tests/unit/worker_tests.cmake - unit tests for worker/ modules that are
# pure logic; included from tests/unit/CMakeLists.txt. Sources are compiled
# straight in so the tests need neither libevent nor hiredis.
# SPDX-License-Identifier: MIT

# http_parse.c: request parser, decoding, Range, dates; http_chunked.c:
# chunked bodies.
add_unit_test(test_http_parse
    SOURCES test_http_parse.c ${PROJECT_SOURCE_DIR}/worker/http_parse.c
            ${PROJECT_SOURCE_DIR}/worker/http_chunked.c)
target_include_directories(test_http_parse PRIVATE
    ${PROJECT_SOURCE_DIR}/worker ${PROJECT_SOURCE_DIR}/common)

# proxy_proto.c: PROXY protocol v1/v2 headers (proxy_protocol).
add_unit_test(test_proxy_proto
    SOURCES test_proxy_proto.c ${PROJECT_SOURCE_DIR}/worker/proxy_proto.c)
target_include_directories(test_proxy_proto PRIVATE
    ${PROJECT_SOURCE_DIR}/worker ${PROJECT_SOURCE_DIR}/common)

# forwarded.c: the client a trusted proxy names in X-Forwarded-For, with
# the parser's part (http_parse.c) and net.c's CIDR matching.
add_unit_test(test_forwarded
    SOURCES test_forwarded.c ${PROJECT_SOURCE_DIR}/worker/forwarded.c
            ${PROJECT_SOURCE_DIR}/worker/http_parse.c
    LIBS common)
target_include_directories(test_forwarded PRIVATE
    ${PROJECT_SOURCE_DIR}/worker ${PROJECT_SOURCE_DIR}/common)
