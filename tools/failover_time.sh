#!/usr/bin/env bash
# tools/failover_time.sh [RUNS] - measure how long sessions are unavailable
# when the Redis master dies: a private Redis master + replica + 3
# sentinels and one server (2 workers, redis_sentinels, redis_wait_replicas
# = 1) on ephemeral ports, a user logged in, then per run: SIGKILL the
# master and time from the kill to the first 200 on GET /welcome with the
# session made before it. The dead master is restarted as a replica of the
# new one before the next run. Everything runs in a temp dir and is stopped
# by pid at the end.
# WEBSERVER_BIN (default build/webserver, then build-rel/webserver) picks
# the binary; DOWN_AFTER (ms, default 1000) is the sentinels'
# down-after-milliseconds, which bounds how fast a failover can be.
# KEEP=1 keeps the temp dir (logs) and prints its path.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-5}
down_after=${DOWN_AFTER:-1000}
bin=${WEBSERVER_BIN:-}
if [ -z "$bin" ]; then
    for b in "$top/build/webserver" "$top/build-rel/webserver"; do
        [ -x "$b" ] && { bin=$b; break; }
    done
fi
[ -n "$bin" ] && [ -x "$bin" ] || { echo "no webserver binary; build first" >&2; exit 1; }
for p in redis-server redis-sentinel redis-cli curl python3; do
    command -v $p >/dev/null || { echo "missing $p (tools/deps.sh)" >&2; exit 1; }
done

dir=$(mktemp -d /tmp/ws-failover-XXXXXX)
declare -A pid=()
cleanup() {
    trap - EXIT INT TERM
    for k in "${!pid[@]}"; do
        kill -TERM "${pid[$k]}" 2>/dev/null || true
    done
    for k in "${!pid[@]}"; do
        wait "${pid[$k]}" 2>/dev/null || true
    done
    if [ "${KEEP:-0}" = 1 ]; then echo "logs kept in $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# wait_for SECONDS CMD...: poll CMD every 50 ms
wait_for() {
    local end=$(( $(now_ms) + $1 * 1000 )); shift
    until "$@" >/dev/null 2>&1; do
        [ "$(now_ms)" -lt "$end" ] || { echo "timed out waiting for: $*" >&2; return 1; }
        sleep 0.05
    done
}
rcli() { redis-cli -h 127.0.0.1 -p "$@"; }

# NAME PORT [replicaof PORT]
start_redis() {
    local name=$1 port=$2; shift 2
    mkdir -p "$dir/$name"
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$dir/$name" --daemonize no "$@" >>"$dir/$name/log" 2>&1 &
    pid[$name]=$!
    wait_for 10 rcli "$port" ping
}

start_sentinel() {
    local name=$1 port=$2 mport=$3
    mkdir -p "$dir/$name"
    cat >"$dir/$name/sentinel.conf" <<EOF
port $port
bind 127.0.0.1
daemonize no
dir $dir/$name
sentinel monitor mymaster 127.0.0.1 $mport 2
sentinel down-after-milliseconds mymaster $down_after
sentinel failover-timeout mymaster 10000
sentinel parallel-syncs mymaster 1
EOF
    redis-sentinel "$dir/$name/sentinel.conf" >>"$dir/$name/log" 2>&1 &
    pid[$name]=$!
    wait_for 10 rcli "$port" ping
}

master_port() {
    rcli "${sport[0]}" sentinel get-master-addr-by-name mymaster | sed -n 2p
}
# every sentinel sees 2 others and 1 replica
sentinels_settled() {
    local s info
    for s in "${sport[@]}"; do
        info=$(rcli "$s" sentinel master mymaster | paste - - | tr '\t' ' ')
        grep -q '^num-other-sentinels 2$' <<<"$info" || return 1
        grep -q '^num-slaves 1$' <<<"$info" || return 1
        rcli "$s" sentinel replicas mymaster | grep -q '^slave$' || return 1
    done
}
replica_synced() {
    rcli "$1" info replication | grep -q 'master_link_status:up'
}

declare -A port=()
port[a]=$(free_port); port[b]=$(free_port)
sport=("$(free_port)" "$(free_port)" "$(free_port)")
start_redis a "${port[a]}"
start_redis b "${port[b]}" --replicaof 127.0.0.1 "${port[a]}"
wait_for 20 replica_synced "${port[b]}"
for i in 0 1 2; do start_sentinel "s$i" "${sport[$i]}" "${port[a]}"; done
wait_for 60 sentinels_settled

mkdir -p "$dir/www"
echo '<h1>index</h1>' >"$dir/www/index.html"
cat >"$dir/webserver.conf" <<EOF
port = 0
port_file = $dir/port
processes = 2
root = $dir/www
error_log = $dir/error.log
log_level = notice
redis_sentinels = 127.0.0.1:${sport[0]} 127.0.0.1:${sport[1]} 127.0.0.1:${sport[2]}
redis_wait_replicas = 1
redis_timeout = 1s
EOF
"$bin" -c "$dir/webserver.conf" >>"$dir/stderr.log" 2>&1 &
pid[server]=$!
wait_for 10 test -s "$dir/port"
url="http://127.0.0.1:$(cat "$dir/port")"

form="username=failover&password=failover-password"
wait_for 20 sh -c "curl -s -o /dev/null -w '%{http_code}' -d '$form' $url/register | grep -q 303"
jar="$dir/cookies"
curl -s -o /dev/null -c "$jar" -d "$form" "$url/login"
welcome() { curl -s -o /dev/null -w '%{http_code}' -b "$jar" "$url/welcome"; }
[ "$(welcome)" = 200 ] || { echo "no session before the first run" >&2; exit 1; }

echo "binary $bin, down-after-milliseconds $down_after, $runs runs"
results=()
for run in $(seq 1 "$runs"); do
    # who is master now, and which process is it
    mp=$(master_port)
    if [ "$mp" = "${port[a]}" ]; then old=a new=b; else old=b new=a; fi
    t0=$(now_ms)
    kill -KILL "${pid[$old]}"
    wait "${pid[$old]}" 2>/dev/null || true
    n503=0 tsw=""
    while :; do
        code=$(welcome || true)
        if [ -z "$tsw" ] && [ "$(master_port)" = "${port[$new]}" ]; then
            tsw=$(now_ms)
        fi
        [ "$code" = 200 ] && break
        case $code in 503|000) n503=$((n503 + 1)) ;;
            *) echo "run $run: unexpected status $code" >&2; exit 1 ;; esac
        [ $(( $(now_ms) - t0 )) -lt 120000 ] || { echo "run $run: no 200 within 120 s" >&2; exit 1; }
        sleep 0.01
    done
    t1=$(now_ms)
    [ -n "$tsw" ] || tsw=$t1
    results+=($(( t1 - t0 )))
    echo "run $run: master 127.0.0.1:$mp killed; first 200 on /welcome after $(( t1 - t0 )) ms ($n503 answers 503 before; the first sentinel named the new master after $(( tsw - t0 )) ms)"
    # the old master comes back as a replica of the new one
    start_redis "$old" "${port[$old]}" --replicaof 127.0.0.1 "${port[$new]}"
    wait_for 30 replica_synced "${port[$old]}"
    wait_for 60 sentinels_settled
done
sorted=($(printf '%s\n' "${results[@]}" | sort -n))
echo "failover time (kill -> first 200 on /welcome): min ${sorted[0]} ms, median ${sorted[$(( ${#sorted[@]} / 2 ))]} ms, max ${sorted[-1]} ms"
