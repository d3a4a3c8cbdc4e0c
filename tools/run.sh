#!/usr/bin/env bash
# tools/run.sh [ADDRESS PORT PROCESSES] - install what is missing, build,
# start a private redis-server if none answers on the configured port, and
# run the server on html/ in the foreground. Ctrl-C stops both.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. tools/deps.sh
deps_install $WEBSERVER_PKGS_BUILD $WEBSERVER_PKGS_RUN

address=${1:-127.0.0.1}
port=${2:-8080}
procs=${3:-$(nproc)}

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target webserver >/dev/null

redis_pid=""
cleanup() { [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null || true; }
trap cleanup EXIT
if ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
    mkdir -p var/redis
    redis-server --port 6379 --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$top/var/redis" --daemonize no >var/redis/redis.log 2>&1 &
    redis_pid=$!
    echo "started a private redis-server (pid $redis_pid) on 127.0.0.1:6379"
fi
echo "serving $top/html on http://$address:$port/ with $procs worker(s)"
build/webserver -c etc/webserver.conf -r html "$address" "$port" "$procs"
