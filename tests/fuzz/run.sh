#!/bin/sh
# run.sh - build the libFuzzer targets with clang into build-fuzz/ and fuzz
# fuzz_http_parse for SECONDS (default 60) on a scratch copy of the seed
# corpus, so tests/fuzz/corpus/ never changes. Exits non-zero on a crash;
# the crashing input is kept as build-fuzz/fuzz/crash-* (replay it with
# build-fuzz/fuzz/fuzz_http_parse FILE).
# Usage: tests/fuzz/run.sh [SECONDS [extra libFuzzer flags...]]
# Environment: BUILD_DIR (default build-fuzz), CC_FUZZ (default clang).
# SPDX-License-Identifier: MIT
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-60}
[ $# -gt 0 ] && shift
build=${BUILD_DIR:-$root/build-fuzz}
cc=${CC_FUZZ:-clang}
bin=$build/fuzz/fuzz_http_parse

case $secs in
    ''|*[!0-9]*) echo "run.sh: SECONDS must be a number, not '$secs'" >&2
                 exit 2 ;;
esac

# The whole tree is configured (FUZZ=ON adds tests/fuzz); if that fails
# for reasons elsewhere in the tree, build the one target directly with the
# same flags rather than not fuzzing at all.
mkdir -p "$build"
if cmake -S "$root" -B "$build" -DFUZZ=ON -DCMAKE_C_COMPILER="$cc" \
         -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$build/configure.log" 2>&1; then
    cmake --build "$build" --target fuzz_http_parse -j "$(nproc)"
else
    echo "run.sh: cmake configure failed (see $build/configure.log);" \
         "building fuzz_http_parse directly with $cc" >&2
    mkdir -p "$build/fuzz"
    "$cc" -std=gnu11 -O1 -g -D_GNU_SOURCE -Wall -Wextra \
          -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
          -fno-omit-frame-pointer -I"$root/common" -I"$root/worker" \
          "$root/tests/fuzz/fuzz_http_parse.c" "$root/worker/http_parse.c" \
          -o "$bin"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
cp -R "$root/tests/fuzz/corpus/http_parse" "$work/corpus"

echo "run.sh: fuzzing fuzz_http_parse for ${secs}s"
status=0
"$bin" -max_total_time="$secs" -max_len=2048 -timeout=10 \
       -print_final_stats=1 -artifact_prefix="$build/fuzz/" \
       "$@" "$work/corpus" || status=$?
if [ "$status" -ne 0 ]; then
    echo "run.sh: fuzz_http_parse failed (exit $status); see $build/fuzz/" >&2
    exit 1
fi
echo "run.sh: no crash in ${secs}s"
