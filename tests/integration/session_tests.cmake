# session_tests.cmake - session integration tests (included from tests/integration/CMakeLists.txt).
# SPDX-License-Identifier: MIT
add_integration_test(test_session TIMEOUT 300)

# The basic flow again with the server under valgrind (master and both
# workers), stopped with SIGQUIT; every valgrind log must be clean. Exit
# code 77 (WS_EXIT_SKIP) means it could not run: no valgrind, or a
# sanitizer build (-DSANITIZE=address) that valgrind cannot host.
add_test(NAME test_session_valgrind COMMAND test_session --valgrind)
set_tests_properties(test_session_valgrind PROPERTIES LABELS integration
    RUN_SERIAL TRUE TIMEOUT 600 SKIP_RETURN_CODE 77
    ENVIRONMENT "WEBSERVER_BIN=$<TARGET_FILE:webserver>;WEBSERVER_SRC=${PROJECT_SOURCE_DIR}")

# The worker's Redis connection: host names, reconnect after CLIENT KILL.
add_integration_test(test_redis_client TIMEOUT 120)

# Password hashing under a burst of logins: bounded queue, skipped jobs,
# an answer for every client.
add_integration_test(test_login_burst TIMEOUT 180)

# Login security (issue 11): cross-site POSTs, throttling per client
# address (clients bound to 127.0.0.2, .3, ...), security headers,
# sessions and "log out everywhere".
add_integration_test(test_security TIMEOUT 300)

# Forms that answer in place: the site's login and register pages shown
# again with the message beside the field and the username kept.
add_integration_test(test_forms TIMEOUT 120)

# Redis Sentinel: a private master, replica and 3 redis-sentinel processes;
# failover by SENTINEL FAILOVER and by SIGKILL, dead sentinels, WAIT.
add_integration_test(test_sentinel TIMEOUT 600)
