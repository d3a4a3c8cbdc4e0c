#!/bin/sh
# run.sh - build the libFuzzer targets with clang into build-fuzz/ and fuzz
# one (fuzz_http_parse unless FUZZ_TARGET says otherwise) for SECONDS
# (default 60) on a scratch copy of its seed corpus, so tests/fuzz/corpus/
# never changes. Exits non-zero on a crash; the crashing input is kept as
# build-fuzz/fuzz/crash-* (replay it with build-fuzz/fuzz/fuzz_TARGET FILE).
# Usage: tests/fuzz/run.sh [SECONDS [extra libFuzzer flags...]]
# Environment: BUILD_DIR (default build-fuzz), CC_FUZZ (default clang),
# FUZZ_TARGET (http_parse or proxy_proto; default http_parse).
# SPDX-License-Identifier: MIT
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-60}
[ $# -gt 0 ] && shift
build=${BUILD_DIR:-$root/build-fuzz}
cc=${CC_FUZZ:-clang}
target=${FUZZ_TARGET:-http_parse}
bin=$build/fuzz/fuzz_$target

case $target in
    http_parse|proxy_proto) ;;
    *) echo "run.sh: FUZZ_TARGET must be http_parse or proxy_proto" >&2
       exit 2 ;;
esac

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
    cmake --build "$build" --target "fuzz_$target" -j "$(nproc)"
else
    echo "run.sh: cmake configure failed (see $build/configure.log);" \
         "building fuzz_$target directly with $cc" >&2
    mkdir -p "$build/fuzz"
    "$cc" -std=gnu11 -O1 -g -D_GNU_SOURCE -Wall -Wextra \
          -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
          -fno-omit-frame-pointer -I"$root/common" -I"$root/worker" \
          "$root/tests/fuzz/fuzz_$target.c" "$root/worker/$target.c" \
          -o "$bin"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
cp -R "$root/tests/fuzz/corpus/$target" "$work/corpus"

echo "run.sh: fuzzing fuzz_$target for ${secs}s"
status=0
"$bin" -max_total_time="$secs" -max_len=2048 -timeout=10 \
       -print_final_stats=1 -artifact_prefix="$build/fuzz/" \
       "$@" "$work/corpus" || status=$?
if [ "$status" -ne 0 ]; then
    echo "run.sh: fuzz_$target failed (exit $status); see $build/fuzz/" >&2
    exit 1
fi
echo "run.sh: no crash in ${secs}s"
