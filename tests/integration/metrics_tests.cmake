# metrics_tests.cmake - /metrics and /status (included from tests/integration/CMakeLists.txt).
# SPDX-License-Identifier: MIT
add_integration_test(test_metrics TIMEOUT 240)

# The exposition through `promtool check metrics` (Debian package
# prometheus). tools/test.sh installs it and sets WEBSERVER_REQUIRE_TOOLS,
# so a missing promtool fails there (and wherever CI is set); run by hand
# without it, the test exits 77 (WS_EXIT_SKIP) and ctest says Skipped.
add_test(NAME test_metrics_promtool COMMAND test_metrics --promtool)
set_tests_properties(test_metrics_promtool PROPERTIES LABELS integration
    RUN_SERIAL TRUE TIMEOUT 120 SKIP_RETURN_CODE 77
    ENVIRONMENT "WEBSERVER_BIN=$<TARGET_FILE:webserver>;WEBSERVER_SRC=${PROJECT_SOURCE_DIR}")
