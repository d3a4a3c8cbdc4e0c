#!/usr/bin/env bash
# tools/run.sh [-c FILE] [OPTION...] [ADDRESS PORT PROCESSES [MAX_CONNS]]
#
# Install what is missing, build, and run the server in the foreground on
# html/ with FILE (default etc/webserver.conf). Options other than -c pass
# through to the server (-r DIR, ...); so do the positional arguments.
# Redis is looked for where the configuration says (redis_host,
# redis_port); when nothing answers there and it is this machine, a
# private redis-server is started on that port (or unix socket) that keeps
# its data under var/redis/, so accounts and sessions survive a restart.
# Logs go to var/log/ unless the configuration names other files.
# Ctrl-C, or SIGTERM to this script's pid, stops the server gracefully,
# then the redis-server it started (nothing else).
# TLS_PORT=8443 tools/run.sh also serves HTTPS on that port with a
# self-signed certificate for localhost made (once) under var/tls/.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

usage() {
    sed -n '2,3p' "$0" | sed 's/^# //' >&2
    exit 1
}

conf=etc/webserver.conf
pass=() pos=()
while [ $# -gt 0 ]; do
    case $1 in
    -c) [ $# -ge 2 ] || usage; conf=$2; shift 2 ;;
    -c*) conf=${1#-c}; shift ;;
    -h|--help) usage ;;
    -d|-s*|-t|-V)
        echo "run.sh runs the server in the foreground; use build/webserver $1 directly" >&2
        exit 1 ;;
    -r) [ $# -ge 2 ] || usage; pass+=("$1" "$2"); shift 2 ;;
    -*) pass+=("$1"); shift ;;
    *) pos+=("$1"); shift ;;
    esac
done
[ -f "$conf" ] || { echo "run.sh: no config file $conf" >&2; exit 1; }

. tools/deps.sh
deps_install $WEBSERVER_PKGS_BUILD $WEBSERVER_PKGS_RUN

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target webserver >/dev/null

# The last value of KEY in the config file (comments and quotes removed),
# or DEFAULT.
conf_get() {
    local v
    v=$(sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*//p" "$conf" \
        | sed 's/[[:space:]]#.*$//; s/[[:space:]]*$//; s/^"\(.*\)"$/\1/' \
        | tail -n 1)
    printf '%s' "${v:-$2}"
}

address=${pos[0]:-$(conf_get listen_address 127.0.0.1)}
port=${pos[1]:-$(conf_get port 8080)}
procs=${pos[2]:-$(conf_get processes 0)}
[ "$procs" = 0 ] && procs=$(nproc)
max_conns=${pos[3]:-$(conf_get max_connections 10000)}
redis_host=$(conf_get redis_host 127.0.0.1)
redis_port=$(conf_get redis_port 6379)
redis_pass=$(conf_get redis_password "")
sentinels=$(conf_get redis_sentinels "")

# Each connection may need two descriptors (socket, file being sent): if
# this shell's hard limit cannot give MAX_CONNS that, ask for what fits,
# rather than have the server warn about a number nobody chose here.
hard=$(ulimit -Hn)
if [ -z "${pos[3]:-}" ] && [ "$hard" != unlimited ] \
   && [ $(( (hard - 32) / 2 )) -lt "$max_conns" ]; then
    max_conns=$(( (hard - 32) / 2 ))
    fit_note=" (RLIMIT_NOFILE $hard allows $max_conns connections per worker)"
fi

redis_pid="" server_pid=""
# Stop what this script started, by pid: the server first (QUIT: graceful,
# bounded by its shutdown_timeout), then redis (which writes its data).
cleanup() {
    trap - EXIT INT TERM
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -QUIT "$server_pid" 2>/dev/null || true
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

redis_ping() {
    local args=()
    case $redis_host in
    unix:*) args=(-s "${redis_host#unix:}") ;;
    *) args=(-h "$redis_host" -p "$redis_port") ;;
    esac
    [ -n "$redis_pass" ] && args+=(--no-auth-warning -a "$redis_pass")
    timeout 3 redis-cli "${args[@]}" ping 2>/dev/null | grep -q PONG
}

mkdir -p var/log var/redis var/run
if [ -n "$sentinels" ]; then
    redis_desc="through Sentinel ($sentinels)"
elif redis_ping; then
    case $redis_host in
    unix:*) redis_desc="$redis_host (already running)" ;;
    *) redis_desc="$redis_host:$redis_port (already running)" ;;
    esac
else
    case $redis_host in
    unix:*) listen=(--port 0 --unixsocket "${redis_host#unix:}" --unixsocketperm 700)
            where=$redis_host ;;
    127.0.0.1|localhost|::1)
            listen=(--port "$redis_port" --bind "$redis_host")
            [ "$redis_host" = localhost ] && listen=(--port "$redis_port" --bind 127.0.0.1)
            where=$redis_host:$redis_port ;;
    *)      listen=() ;;
    esac
    if [ ${#listen[@]} -gt 0 ]; then
        extra=()
        [ -n "$redis_pass" ] && extra=(--requirepass "$redis_pass")
        # append-only file under var/redis: accounts survive a restart
        redis-server "${listen[@]}" "${extra[@]}" --dir "$top/var/redis" \
            --appendonly yes --appendfsync everysec --save '' \
            --daemonize no >>var/log/redis.log 2>&1 &
        redis_pid=$!
        for _ in $(seq 100); do
            redis_ping && break
            kill -0 "$redis_pid" 2>/dev/null || break
            sleep 0.1
        done
        if ! redis_ping; then
            echo "run.sh: the private redis-server did not start; see var/log/redis.log" >&2
            tail -n 5 var/log/redis.log >&2 || true
            exit 1
        fi
        redis_desc="$where (private, pid $redis_pid, data in var/redis/)"
    else
        redis_desc="$redis_host:$redis_port (NOT answering: sign-in pages answer 503 until it does)"
    fi
fi

# The configuration as given, then what run.sh decides: log files under
# var/log/ unless the file names its own, and the TLS settings.
run_conf=var/run/webserver.conf
error_log=$(conf_get error_log stderr)
access_log=$(conf_get access_log off)
{
    cat "$conf"
    echo
    echo "# added by tools/run.sh"
    if [ "$error_log" = stderr ]; then
        error_log=$top/var/log/error.log
        echo "error_log = $error_log"
    fi
    if [ "$access_log" = off ]; then
        access_log=$top/var/log/access.log
        echo "access_log = $access_log"
    fi
} >"$run_conf"

tls_line=""
if [ -n "${TLS_PORT:-}" ]; then
    command -v openssl >/dev/null 2>&1 || deps_install openssl
    mkdir -p var/tls
    if [ ! -f var/tls/cert.pem ] || [ ! -f var/tls/key.pem ]; then
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
            -keyout var/tls/key.pem -out var/tls/cert.pem -days 365 -nodes \
            -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
            >var/tls/openssl.log 2>&1 || { cat var/tls/openssl.log >&2; exit 1; }
    fi
    { echo "tls_port = $TLS_PORT"
      echo "tls_certificate = $top/var/tls/cert.pem"
      echo "tls_certificate_key = $top/var/tls/key.pem"; } >>"$run_conf"
    tls_line="           https://$address:$TLS_PORT/ (self-signed: curl --cacert var/tls/cert.pem)"
fi

# a bad configuration is reported here, on the terminal
build/webserver -t -c "$run_conf" "${pass[@]}" >/dev/null

host=$address
case $host in *:*) host="[$host]" ;; esac
echo "webserver: http://$host:$port/ with $procs worker(s)${fit_note:-}"
[ -n "$tls_line" ] && echo "$tls_line"
echo "redis:     $redis_desc"
echo "logs:      $error_log, $access_log"
echo "           Ctrl-C stops it."

# in the background, so a TERM to this script reaches the trap at once
# (bash runs traps only after a foreground command ends) and the server
# is not left running without us
build/webserver -c "$run_conf" -r html "${pass[@]}" "$address" "$port" "$procs" \
    "$max_conns" </dev/null &
server_pid=$!
rc=0
wait "$server_pid" || rc=$?
server_pid=""
if [ "$rc" -ne 0 ] && [ "$rc" -ne 143 ]; then
    echo "webserver exited with code $rc; the end of $error_log:" >&2
    tail -n 10 "$error_log" >&2 || true
fi
exit "$rc"
