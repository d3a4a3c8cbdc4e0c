#!/usr/bin/env bash
# tools/test.sh - install what is missing, build, run the parser fuzzer for
# FUZZ_SECONDS (default 60; 0 skips it; a crash fails the run), then the
# whole ctest suite (unit + integration with a real redis-server, and the
# browser tests in headless Chromium). Exit status is ctest's.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. tools/deps.sh
deps_install $WEBSERVER_PKGS_BUILD $WEBSERVER_PKGS_RUN $WEBSERVER_PKGS_TEST clang libclang-rt-14-dev valgrind
deps_install_e2e tests/e2e
# installed above: the browser tests must run, not skip
export E2E_REQUIRED=1

jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DWERROR=ON
cmake --build build -j"$jobs"

# the fuzzer first, so that ctest's summary closes the output
fuzz_seconds=${FUZZ_SECONDS:-60}
if [ "$fuzz_seconds" -gt 0 ] && [ -x tests/fuzz/run.sh ]; then
    tests/fuzz/run.sh "$fuzz_seconds"
fi

# every tool a test needs was installed above: a test that finds one
# missing fails instead of skipping (test_metrics_promtool)
export WEBSERVER_REQUIRE_TOOLS=1
cd build
exec ctest --output-on-failure -LE bench -j"$jobs"
