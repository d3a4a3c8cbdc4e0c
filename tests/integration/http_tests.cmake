# http_tests.cmake - the HTTP engine's integration tests (included from CMakeLists.txt).
# SPDX-License-Identifier: MIT
add_integration_test(test_http TIMEOUT 180)
add_integration_test(test_timeouts TIMEOUT 120)
add_integration_test(test_memory TIMEOUT 120)
add_integration_test(test_access_log TIMEOUT 60)
add_integration_test(test_limits TIMEOUT 60)
add_integration_test(test_static_cache TIMEOUT 60)
add_integration_test(test_http_semantics TIMEOUT 120)
add_integration_test(test_static_semantics TIMEOUT 120)
