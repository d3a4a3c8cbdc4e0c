#!/usr/bin/env bash
# test_cluster_sh.sh - tools/cluster.sh as a user runs it: it comes up on a
# free range of ports, a user registers, logs in and sees /welcome through
# HAProxy, a SENTINEL FAILOVER keeps the session, the access logs show
# the client's address from PROXY v2, and SIGTERM to the script stops
# every process it started (and only those). Exit 77 when redis-sentinel
# or haproxy is missing (a run by hand; tools/test.sh installs both).
# Usage: test_cluster_sh.sh  (env: WEBSERVER_BIN, WEBSERVER_SRC)
set -uo pipefail
src=${WEBSERVER_SRC:?}
bin=${WEBSERVER_BIN:?}
for tool in redis-server redis-sentinel redis-cli haproxy curl; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "test_cluster_sh: $tool is missing (tools/test.sh installs it); skipped"
        exit 77
    fi
done

work=$(mktemp -d /tmp/ws-cluster-XXXXXX)
out=$work/out.txt
script_pid=""
fail() {
    echo "test_cluster_sh: FAIL: $*"
    echo "--- cluster.sh output:"; cat "$out" 2>/dev/null
    for f in "$work"/state/*/error.log "$work"/state/*/*.log \
             "$work"/state/haproxy.log; do
        [ -f "$f" ] && { echo "--- $f (tail):"; tail -n 15 "$f"; }
    done
    exit 1
}
cleanup() {
    [ -n "$script_pid" ] && kill -TERM "$script_pid" 2>/dev/null
    [ -n "$script_pid" ] && wait "$script_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

# a base port whose whole range (base .. base+22) is free right now, below
# the kernel's ephemeral range (else an outgoing connection of a sentinel
# or the replica may take one of them before its server binds it)
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
read -r eph_low _ </proc/sys/net/ipv4/ip_local_port_range
slots=$(( (eph_low - 10000 - 100) / 100 ))
[ "$slots" -ge 1 ] || { echo "test_cluster_sh: no port range below $eph_low; skipped"; exit 77; }
base=""
for _ in $(seq 50); do
    b=$(( 10000 + (RANDOM % slots) * 100 ))
    ok=1
    for p in $(seq "$b" $((b + 22))); do port_free "$p" || { ok=0; break; }; done
    [ "$ok" = 1 ] && { base=$b; break; }
done
[ -n "$base" ] || fail "no free range of ports"

# all descendants of PID (through /proc)
descendants() {
    local kids k
    kids=$(cat /proc/"$1"/task/*/children 2>/dev/null)
    for k in $kids; do echo "$k"; descendants "$k"; done
}

cd "$src"
CLUSTER_PORT=$base CLUSTER_DIR=$work/state WEBSERVER_BIN=$bin \
    setsid tools/cluster.sh 3 >"$out" 2>&1 &
script_pid=$!
for _ in $(seq 600); do      # bounds a hang only: waits on the banner
    grep -q 'Ctrl-C stops everything' "$out" && break
    kill -0 "$script_pid" 2>/dev/null || fail "cluster.sh exited early"
    sleep 0.1
done
grep -q 'Ctrl-C stops everything' "$out" || fail "no banner"
grep -q "cluster: http://127.0.0.1:$base/" "$out" || fail "the banner names no URL"

url=http://127.0.0.1:$base
jar=$work/cookies
code=$(curl -s -o /dev/null -w '%{http_code}' -d 'username=cluster_user&password=cluster-password' "$url/register")
[ "$code" = 303 ] || fail "register through HAProxy: $code"
code=$(curl -s -c "$jar" -o /dev/null -w '%{http_code}' -d 'username=cluster_user&password=cluster-password' "$url/login")
[ "$code" = 303 ] || fail "login through HAProxy: $code"
# round robin: three requests, three instances
for i in 1 2 3; do
    body=$(curl -s -b "$jar" "$url/welcome")
    echo "$body" | grep -q 'Welcome, cluster_user' || fail "/welcome #$i did not name the user"
done
# (the access log is flushed every second: wait for the line)
for i in 1 2 3; do
    log=$work/state/instance-$i/access.log
    for _ in $(seq 100); do
        grep -q '"GET /welcome HTTP/1.1" 200' "$log" 2>/dev/null && break
        sleep 0.1
    done
    grep -q '^127.0.0.1 .*"GET /welcome HTTP/1.1" 200' "$log" \
        || fail "instance $i logged no /welcome with the client's address"
done

# a failover: the session lives on, writes go to the new master
sport=$((base + 20))
redis-cli -p "$sport" sentinel failover mymaster >/dev/null || fail "SENTINEL FAILOVER refused"
for _ in $(seq 300); do
    m=$(redis-cli -p "$sport" sentinel get-master-addr-by-name mymaster | tail -n 1)
    [ "$m" = $((base + 11)) ] && break
    sleep 0.1
done
[ "$m" = $((base + 11)) ] || fail "the replica was not promoted"
ok=0
for _ in $(seq 300); do
    body=$(curl -s -b "$jar" "$url/welcome")
    echo "$body" | grep -q 'Welcome, cluster_user' && { ok=1; break; }
    sleep 0.1
done
[ "$ok" = 1 ] || fail "the session did not survive the failover"
# ... through every instance (round robin: three in a row)
for i in 1 2 3; do
    curl -s -b "$jar" "$url/welcome" | grep -q 'Welcome, cluster_user' \
        || fail "/welcome #$i after the failover did not name the user"
done
# once the old master is a replica, nothing can be written there any more
# (before, a worker that has not heard of the switch yet may still write
# to it: the window every asynchronous failover has, which WAIT narrows)
for _ in $(seq 300); do
    redis-cli -p $((base + 10)) role 2>/dev/null | head -n 1 | grep -q slave && break
    sleep 0.1
done
redis-cli -p $((base + 10)) role | head -n 1 | grep -q slave \
    || fail "the old master was not turned into a replica"
code=""
for _ in $(seq 300); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -d 'username=after_failover&password=cluster-password' "$url/register")
    [ "$code" = 303 ] && break
    sleep 0.1
done
[ "$code" = 303 ] || fail "no registration after the failover: $code"
[ "$(redis-cli -p $((base + 11)) exists user:after_failover)" = 1 ] \
    || fail "the account is not on the new master"

# SIGTERM stops everything it started
pids=$(descendants "$script_pid")
[ "$(echo "$pids" | wc -w)" -ge 9 ] || fail "fewer processes than expected: $pids"
kill -TERM "$script_pid"
for _ in $(seq 300); do
    kill -0 "$script_pid" 2>/dev/null || break
    sleep 0.1
done
kill -0 "$script_pid" 2>/dev/null && fail "cluster.sh did not stop on SIGTERM"
wait "$script_pid" 2>/dev/null
script_pid=""
for _ in $(seq 100); do
    left=""
    for p in $pids; do kill -0 "$p" 2>/dev/null && left="$left $p"; done
    [ -z "$left" ] && break
    sleep 0.1
done
[ -z "$left" ] || fail "processes left running:$left"
grep -q 'cluster stopped' "$out" || fail "no goodbye"
echo "test_cluster_sh: ok (ports $base..$((base + 22)))"
