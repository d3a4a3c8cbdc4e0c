# session_tests.cmake - unit tests for the session helpers (included from tests/unit/CMakeLists.txt).
# SPDX-License-Identifier: MIT
add_unit_test(test_session_util SOURCES test_session_util.c LIBS worker common)
target_include_directories(test_session_util PRIVATE
    ${PROJECT_SOURCE_DIR}/worker ${PROJECT_SOURCE_DIR}/common)
