# tests/unit/worker_more.cmake - unit tests for worker/ modules that link
# the worker library (libevent, real sockets in-process; no Redis, no
# network); included from tests/unit/CMakeLists.txt.
# SPDX-License-Identifier: MIT

foreach(t test_static_file test_http_response test_conn_pool test_timer
          test_conn test_sizes test_file_cache test_redis_client_unit
          test_transport_tls)
    add_unit_test(${t} SOURCES ${t}.c LIBS worker common)
    target_include_directories(${t} PRIVATE
        ${PROJECT_SOURCE_DIR}/worker ${PROJECT_SOURCE_DIR}/common)
endforeach()

# +switch-master parsing (pure; the discovery is tested in integration)
add_unit_test(test_redis_sentinel SOURCES test_redis_sentinel.c
    LIBS worker common)
target_include_directories(test_redis_sentinel PRIVATE
    ${PROJECT_SOURCE_DIR}/worker ${PROJECT_SOURCE_DIR}/common)
