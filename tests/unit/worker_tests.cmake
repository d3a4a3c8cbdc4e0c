# tests/unit/worker_tests.cmake - unit tests for worker/ modules that are
# pure logic; included from tests/unit/CMakeLists.txt. Sources are compiled
# straight in so the tests need neither libevent nor hiredis.
# SPDX-License-Identifier: MIT

# http_parse.c: request parser, decoding, chunked bodies, Range, dates.
add_unit_test(test_http_parse
    SOURCES test_http_parse.c ${PROJECT_SOURCE_DIR}/worker/http_parse.c)
target_include_directories(test_http_parse PRIVATE
    ${PROJECT_SOURCE_DIR}/worker ${PROJECT_SOURCE_DIR}/common)
