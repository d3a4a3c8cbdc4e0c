#!/usr/bin/env bash
# tools/cluster.sh [N] - a demonstration of several instances sharing
# nothing but Redis: a Redis master and a replica, 3 redis-sentinels, N
# instances of webserver (default 3) on their own ports, and HAProxy in
# front (round robin, health checks on /healthz, send-proxy-v2), all on
# 127.0.0.1, from Debian's packages. Prints the URL and waits; Ctrl-C (or
# SIGTERM to this script) stops everything it started, by pid, and nothing
# else. State and logs live under var/cluster/.
#
# Ports (change the first with CLUSTER_PORT): HAProxy on CLUSTER_PORT
# (default 8080), the instances on the N ports after it, Redis on
# CLUSTER_PORT+10 (master) and +11 (replica), the sentinels on
# CLUSTER_PORT+20..22. A port already in use stops the script before it
# starts anything.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

n=${1:-3}
case $n in ''|*[!0-9]*) echo "usage: $0 [N]  (N instances, 1 to 9)" >&2; exit 1 ;; esac
[ "$n" -ge 1 ] && [ "$n" -le 9 ] || { echo "usage: $0 [N]  (N instances, 1 to 9)" >&2; exit 1; }
front=${CLUSTER_PORT:-8080}
redis_master_port=$((front + 10))
redis_replica_port=$((front + 11))
sentinel_ports=($((front + 20)) $((front + 21)) $((front + 22)))

# WEBSERVER_BIN: a binary already built (the tests); else install and build
if [ -n "${WEBSERVER_BIN:-}" ]; then
    bin=$WEBSERVER_BIN
else
    . tools/deps.sh
    deps_install $WEBSERVER_PKGS_BUILD $WEBSERVER_PKGS_RUN redis-sentinel haproxy curl
    cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build build -j"$(nproc)" --target webserver >/dev/null
    bin=build/webserver
fi

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$front" $(seq $((front + 1)) $((front + n))) "$redis_master_port" \
         "$redis_replica_port" "${sentinel_ports[@]}"; do
    if port_busy "$p"; then
        echo "cluster.sh: port $p is in use; choose others with CLUSTER_PORT=..." >&2
        exit 1
    fi
done

# CLUSTER_DIR: where state and logs go (default var/cluster)
dir=${CLUSTER_DIR:-$top/var/cluster}
rm -rf "$dir"
mkdir -p "$dir"
pids=()         # everything started, in start order
inst_pids=()

# Stop in reverse order of dependence: the front, the instances
# (gracefully), the sentinels, then Redis (which writes its data).
cleanup() {
    trap - EXIT INT TERM
    [ -n "${haproxy_pid:-}" ] && kill "$haproxy_pid" 2>/dev/null || true
    for p in "${inst_pids[@]}"; do kill -QUIT "$p" 2>/dev/null || true; done
    for p in "${inst_pids[@]}"; do wait "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    echo "cluster stopped; logs in $dir/"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# until CMD succeeds, at most 20 s; else say WHAT did not come up
wait_for() {
    local what=$1; shift
    for _ in $(seq 200); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "cluster.sh: $what did not come up; see $dir/" >&2
    exit 1
}

# --- Redis: a master with its data on disk, a replica of it ---
mkdir -p "$dir/redis-master" "$dir/redis-replica"
redis-server --port "$redis_master_port" --bind 127.0.0.1 \
    --dir "$dir/redis-master" --appendonly yes --save '' --daemonize no \
    >"$dir/redis-master/redis.log" 2>&1 &
pids+=($!)
redis-server --port "$redis_replica_port" --bind 127.0.0.1 \
    --dir "$dir/redis-replica" --appendonly yes --save '' --daemonize no \
    --replicaof 127.0.0.1 "$redis_master_port" \
    >"$dir/redis-replica/redis.log" 2>&1 &
pids+=($!)
wait_for "the Redis master" redis-cli -p "$redis_master_port" ping
wait_for "the Redis replica" sh -c "redis-cli -p $redis_replica_port info replication | grep -q 'master_link_status:up'"

# --- 3 sentinels watching the master (quorum 2) ---
for i in 0 1 2; do
    sd=$dir/sentinel-$((i + 1))
    mkdir -p "$sd"
    cat >"$sd/sentinel.conf" <<EOF
port ${sentinel_ports[$i]}
bind 127.0.0.1
dir $sd
sentinel monitor mymaster 127.0.0.1 $redis_master_port 2
sentinel down-after-milliseconds mymaster 2000
sentinel failover-timeout mymaster 10000
sentinel parallel-syncs mymaster 1
EOF
    redis-sentinel "$sd/sentinel.conf" >"$sd/sentinel.log" 2>&1 &
    pids+=($!)
done
for p in "${sentinel_ports[@]}"; do
    wait_for "the sentinel on $p" sh -c \
        "redis-cli -p $p sentinel get-master-addr-by-name mymaster | grep -q $redis_master_port"
done
sentinels="127.0.0.1:${sentinel_ports[0]} 127.0.0.1:${sentinel_ports[1]} 127.0.0.1:${sentinel_ports[2]}"

# --- N instances: PROXY protocol from HAProxy, Redis through Sentinel ---
for i in $(seq 1 "$n"); do
    id=$dir/instance-$i
    mkdir -p "$id"
    cat >"$id/webserver.conf" <<EOF
listen_address = 127.0.0.1
port = $((front + i))
processes = 2
root = $top/html
error_log = $id/error.log
access_log = $id/access.log
proxy_protocol = on
redis_sentinels = "$sentinels"
redis_master_name = mymaster
redis_wait_replicas = 1
EOF
    "$bin" -c "$id/webserver.conf" </dev/null >>"$id/error.log" 2>&1 &
    inst_pids+=($!)
done
for i in $(seq 1 "$n"); do
    wait_for "instance $i" curl -sf --haproxy-protocol -o /dev/null \
        "http://127.0.0.1:$((front + i))/healthz"
done

# --- HAProxy in front ---
{
    cat <<EOF
global
    maxconn 4096
defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 5s
    timeout check 2s
    # an instance that stops (QUIT) refuses new connections and closes idle
    # ones: such requests go to another instance
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response
frontend web
    bind 127.0.0.1:$front
    default_backend instances
backend instances
    balance roundrobin
    option httpchk
    http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host cluster
    http-check expect status 200
    default-server check inter 1s fall 1 rise 2 send-proxy-v2
EOF
    for i in $(seq 1 "$n"); do
        echo "    server instance-$i 127.0.0.1:$((front + i))"
    done
} >"$dir/haproxy.cfg"
haproxy -db -f "$dir/haproxy.cfg" >"$dir/haproxy.log" 2>&1 &
haproxy_pid=$!
wait_for "HAProxy" curl -sf -o /dev/null "http://127.0.0.1:$front/healthz"

cat <<EOF
cluster: http://127.0.0.1:$front/  (HAProxy, round robin over $n instances)
  instances: $(for i in $(seq 1 "$n"); do printf '127.0.0.1:%d ' $((front + i)); done)(PROXY protocol only)
  redis:     master 127.0.0.1:$redis_master_port, replica 127.0.0.1:$redis_replica_port
  sentinels: $sentinels (master name mymaster)
  logs:      $dir/*/  (access logs show the clients' addresses)
  try:       redis-cli -p ${sentinel_ports[0]} sentinel failover mymaster
Ctrl-C stops everything.
EOF
# wait until a signal (or until HAProxy dies)
wait "$haproxy_pid" || true
