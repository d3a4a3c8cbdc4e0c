#!/usr/bin/env bash
# tools/run.sh [ADDRESS PORT PROCESSES] - install what is missing, build,
# start a private redis-server if none answers on the configured port, and
# run the server on html/ in the foreground. Ctrl-C, or SIGTERM to this
# script's pid, stops both (the server gracefully, then the redis-server
# it started).
# TLS_PORT=8443 tools/run.sh also serves HTTPS on that port with a
# self-signed certificate for localhost made (once) under var/tls/.
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

redis_pid="" server_pid=""
# Stop what this script started, by pid: the server first (TERM: graceful,
# bounded by its shutdown_timeout), then redis.
cleanup() {
    trap - EXIT INT TERM
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [ -n "$redis_pid" ]; then
        kill "$redis_pid" 2>/dev/null || true
        wait "$redis_pid" 2>/dev/null || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
if ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
    mkdir -p var/redis
    redis-server --port 6379 --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$top/var/redis" --daemonize no >var/redis/redis.log 2>&1 &
    redis_pid=$!
    echo "started a private redis-server (pid $redis_pid) on 127.0.0.1:6379"
fi
conf=etc/webserver.conf
if [ -n "${TLS_PORT:-}" ]; then
    command -v openssl >/dev/null 2>&1 || deps_install openssl
    mkdir -p var/tls
    if [ ! -f var/tls/cert.pem ] || [ ! -f var/tls/key.pem ]; then
        echo "making a self-signed certificate for localhost in var/tls/"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
            -keyout var/tls/key.pem -out var/tls/cert.pem -days 365 -nodes \
            -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
            >var/tls/openssl.log 2>&1 || { cat var/tls/openssl.log >&2; exit 1; }
    fi
    conf=var/tls/webserver.conf
    { cat etc/webserver.conf
      echo "tls_port = $TLS_PORT"
      echo "tls_certificate = $top/var/tls/cert.pem"
      echo "tls_certificate_key = $top/var/tls/key.pem"; } >"$conf"
    echo "serving https://$address:$TLS_PORT/ too (curl --cacert var/tls/cert.pem)"
fi
echo "serving $top/html on http://$address:$port/ with $procs worker(s)"
# in the background, so a TERM to this script reaches the trap at once
# (bash runs traps only after a foreground command ends) and the server
# is not left running without us
build/webserver -c "$conf" -r html "$address" "$port" "$procs" </dev/null &
server_pid=$!
rc=0
wait "$server_pid" || rc=$?
server_pid=""
exit "$rc"
