#!/usr/bin/env bash
# tools/test.sh - install what is missing, build, run the whole ctest suite
# (unit + integration with a real redis-server), then the parser fuzzer for
# FUZZ_SECONDS (default 60; 0 skips it). Exit status is ctest's.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. tools/deps.sh
deps_install $WEBSERVER_PKGS_BUILD $WEBSERVER_PKGS_RUN clang libclang-rt-14-dev valgrind

jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DWERROR=ON
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure -LE bench -j"$jobs")

fuzz_seconds=${FUZZ_SECONDS:-60}
if [ "$fuzz_seconds" -gt 0 ] && [ -x tests/fuzz/run.sh ]; then
    tests/fuzz/run.sh "$fuzz_seconds"
fi
