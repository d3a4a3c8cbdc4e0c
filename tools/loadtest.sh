#!/usr/bin/env bash
# tools/loadtest.sh - wrk against this server and against nginx: same files,
# same worker process count, same machine; runs alternate (ours, nginx, ours,
# nginx, ...) so drift cancels, and each ratio is the median of per-pair
# ratios ours/nginx.
#
# usage: tools/loadtest.sh [--quick] [--processes N] [--duration S]
#                          [--pairs N] [--idle-conns N] [--nginx-no-reuseport]
#                          [--reload] [--reload-rounds N] [--reload-duration S]
#                          [--reload-interval S] [--tls] [--scrape] [--out DIR]
#
# Scenarios
#   1  keep-alive, 1 KiB page, 100 connections            requests/s
#   2  "Connection: close", 1 KiB page, 100 connections   requests/s
#   3  keep-alive, 1 MiB file, 20 connections             bytes/s
#   4  keep-alive, 1 KiB page, 5000 connections           requests/s, errors must be 0
#   5  10000 idle keep-alive connections                   worker RSS KiB per connection
#   6  GET /welcome with a valid session cookie (ours only, Redis)
#                                                         ratio to an ours run of scenario 1
#   7  keep-alive, 1 KiB page, 50 connections, 20 s, while the script sends
#      SIGHUP to the server's master every 2 s (graceful reload)
#                                                         requests, socket errors and
#                                                         non-2xx (must be 0 for ours),
#                                                         reloads sent and carried out
#   8  HTTPS keep-alive, 1 KiB page, 100 connections      requests/s
#   9  HTTPS "Connection: close", 1 KiB page, 100 connections: a new TLS
#      connection with a full handshake per request        requests/s
#  10  as 9, but wrk resumes the session (TLS 1.3 ticket)  requests/s
#  11  (--scrape only) scenario 1 on our server while a client fetches
#      GET /metrics once a second, paired with scenario 1 without it
#                                                         ratio scraped / plain,
#                                                         and CPU per request of each
#   Every scenario also reports the servers' CPU time per request: user +
#   system microseconds of the master and all its workers over the run,
#   divided by the requests wrk counted (the clock-tick resolution is 10 ms).
#
# --tls runs only scenarios 8 to 10 (about 5 minutes with 5 pairs); the
# full run has them before scenario 7. Both servers use one self-signed
# EC P-256 certificate for localhost made with openssl under OUT/tls/;
# nginx: "listen ... ssl", ssl_protocols TLSv1.2 TLSv1.3, ssl_session_tickets
# on (its default ssl_session_cache none), ciphers and groups left at the
# defaults on both (env.txt names what each negotiates). wrk 4.1 DOES
# resume: it reuses one SSL object per connection slot, and SSL_clear()
# after a clean SSL_shutdown() keeps the session, so after its first
# connection per slot every reconnect offers the ticket and is resumed
# (measured: 1920 of 2020 requests). Scenario 10 is that as it is;
# scenario 9 runs wrk with LD_PRELOAD of tools/loadtest/no_resume.c, which
# drops the session in SSL_clear(), so each request pays a full handshake
# (ECDHE + the server's ECDSA signature). Before measuring, the script
# checks both, 1 s of the load each, against a third nginx port whose
# access log has $ssl_session_reused (plus an openssl s_client
# -sess_out/-sess_in pair as a control that resumption works there), writes
# the counts to env.txt, and flags any resumed request in scenario 9's
# check as a problem.
#
# --scrape runs only scenario 11, on our server alone (no nginx): in each
# pair, scenario 1 as it is ("ours-plain") and with a scraper ("ours"), in
# turn first and second:
# a loop that runs curl on /metrics every second, started by the script
# and stopped by its pid; every scrape must answer 200. The scrape's own
# cost is in the server CPU per request of the scraped run. About 2 minutes
# with 5 pairs of 10 s runs.
#
# --reload runs only scenario 7 (3 rounds of 20 s per server, about 2
# minutes); the full run ends with it. Its rounds are --reload-rounds
# (default 3, at least 1), not --pairs; --quick makes them 10 s long.
# A round: wrk -t2 -c50 -d20s on /index.html in the background, and the
# script, by the master pid it started (never by name), sends HUP at 2, 4,
# ..., 18 s: our master re-reads its config and starts a new generation, the
# old one drains (each keep-alive connection answers its next request with
# "Connection: close"); nginx's master does the same, but its old workers
# close their keep-alive connections without saying so, and a request the
# client sends meanwhile gets no answer (wrk: a read error). Before each
# round the old generations must have exited. wrk's "Non-2xx or 3xx" counter (answers >= 400; /index.html has
# no 3xx) is the non-2xx column. The reload count carried out is read from
# each server's error log ("reload done" / "reconfiguring" lines).
#
# Fairness (also written to env.txt in the output folder):
# - both servers serve one generated document root, with the same number of
#   worker processes (default 2), access logs off, keep-alive 60s and
#   100000 requests per connection, listen backlog 4096, loopback only;
# - nginx: sendfile on, tcp_nopush on, tcp_nodelay on, open_file_cache off
#   (we keep no descriptor cache either), worker_connections 20000 (or the
#   fd limit), "listen ... reuseport": each worker gets its own accept queue.
#   Without reuseport a burst of new connections (wrk opens all of them at
#   once) tends to land on one nginx worker and leaves the other idle, while
#   our master spreads connections over the least-loaded worker; reuseport
#   is what an operator would set for this load. --nginx-no-reuseport
#   measures nginx's default instead;
# - wrk runs with -t2 on the same 2 cores as the server under test (nothing
#   is pinned): a ratio compares servers under the same shared budget, an
#   absolute figure is lower than on a separate load generator.
#
# Never touches a system nginx or redis: both run from their own directory
# with their own config, pid file, logs and ports on 127.0.0.1; only the
# processes this script started are stopped, by pid, also on error (trap).
#
# Output (default out/loadtest-YYYYmmdd-HHMMSS/): results.csv (one row per
# run; scenario 7 rows also fill reloads_sent, reloads_done, max_workers),
# summary.csv, summary.txt (the table), ratios.png (not with --reload),
# env.txt, raw/ (wrk outputs), the servers' error logs and configs.
# Exit status: 0 ok, 1 setup failure, 3 a server crashed or answered with
# errors (the table shows which).
# SPDX-License-Identifier: MIT
set -euo pipefail

args="$*"
top=$(cd "$(dirname "$0")/.." && pwd)
here="$top/tools/loadtest"

quick=0
procs=2
duration=""
pairs=""
idle_conns=""
out=""
reuseport=" reuseport"
only_reload=0
only_tls=0
only_scrape=0
reload_rounds=3
reload_duration=""
reload_interval=2

die() { echo "loadtest: error: $*" >&2; exit 1; }
note() { echo "loadtest: $*" >&2; }

usage() {
    sed -n '2,/^# SPDX/{/^# SPDX/d;s/^# \{0,1\}//;p}' "$0"
}

while [ $# -gt 0 ]; do
    case "$1" in
    --quick) quick=1 ;;
    --processes) [ $# -ge 2 ] || die "--processes needs a value"; procs=$2; shift ;;
    --duration) [ $# -ge 2 ] || die "--duration needs a value"; duration=$2; shift ;;
    --pairs) [ $# -ge 2 ] || die "--pairs needs a value"; pairs=$2; shift ;;
    --idle-conns) [ $# -ge 2 ] || die "--idle-conns needs a value"; idle_conns=$2; shift ;;
    --out) [ $# -ge 2 ] || die "--out needs a value"; out=$2; shift ;;
    --nginx-no-reuseport) reuseport="" ;;
    --reload) only_reload=1 ;;
    --tls) only_tls=1 ;;
    --scrape) only_scrape=1 ;;
    --reload-rounds) [ $# -ge 2 ] || die "--reload-rounds needs a value"; reload_rounds=$2; shift ;;
    --reload-duration) [ $# -ge 2 ] || die "--reload-duration needs a value"; reload_duration=$2; shift ;;
    --reload-interval) [ $# -ge 2 ] || die "--reload-interval needs a value"; reload_interval=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument \"$1\"" ;;
    esac
    shift
done

if [ "$quick" -eq 1 ]; then
    : "${duration:=2}" "${pairs:=3}" "${idle_conns:=10000}" "${reload_duration:=10}"
else
    : "${duration:=10}" "${pairs:=5}" "${idle_conns:=10000}" "${reload_duration:=20}"
fi
for v in procs duration pairs idle_conns reload_rounds reload_duration reload_interval; do
    [[ ${!v} =~ ^[0-9]+$ ]] && [ "${!v}" -ge 1 ] \
        || die "--${v//_/-} must be a positive integer, got \"${!v}\""
done
[ "$pairs" -ge 2 ] || die "--pairs must be at least 2 (ratios are medians of pairs)"
[ "$reload_interval" -lt "$reload_duration" ] \
    || die "--reload-interval must be shorter than --reload-duration"
[ $((only_reload + only_tls + only_scrape)) -le 1 ] \
    || die "--reload, --tls and --scrape exclude each other"

[ -n "$out" ] || out="$top/out/loadtest-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out/raw" || die "cannot create the output folder $out"
out=$(cd "$out" && pwd)
: >"$out/results.csv.tmp"

# ---- Processes we started: stopped by pid at exit, never by name ----

declare -A started=()          # background pids we launched, not yet stopped
ours_pid="" nginx_pid="" redis_pid="" helper_pid="" scraper_pid=""
tmp=""

# Parent pid of $1 from /proc (0 if gone); comm may hold spaces and parens.
ppid_of() {
    local line rest
    { read -r line <"/proc/$1/stat"; } 2>/dev/null || { echo 0; return 0; }
    rest=${line##*) }; rest=${rest#* }
    echo "${rest%% *}"
}

# Pids whose parent is $1 (the server's workers: children of the master).
children_of() {
    local f line rest pid
    for f in /proc/[0-9]*/stat; do
        { read -r line <"$f"; } 2>/dev/null || continue
        rest=${line##*) }; rest=${rest#* }
        if [ "${rest%% *}" = "$1" ]; then pid=${f#/proc/}; echo "${pid%/stat}"; fi
    done
    return 0
}

alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# Stop pid $1 (and the children it had): TERM, bounded wait, then KILL.
# Children are only killed if they still run the same executable.
stop_pid() {
    local pid=$1 kids k exe i
    unset "started[$pid]"
    alive "$pid" || { wait "$pid" 2>/dev/null || true; return 0; }
    exe=$(readlink "/proc/$pid/exe" 2>/dev/null || true)
    kids=$(children_of "$pid")
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do
        alive "$pid" || break
        # a zombie child of ours counts as stopped
        [ "$(awk '/^State:/{print $2}' "/proc/$pid/status" 2>/dev/null)" = Z ] && break
        sleep 0.1
    done
    if alive "$pid" && [ "$(awk '/^State:/{print $2}' "/proc/$pid/status" 2>/dev/null)" != Z ]; then
        note "pid $pid did not stop within 10s, killing it"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    for k in $kids; do
        for i in $(seq 1 50); do alive "$k" || break; sleep 0.1; done
        if alive "$k" && [ -n "$exe" ] \
            && [ "$(readlink "/proc/$k/exe" 2>/dev/null)" = "$exe" ]; then
            note "child $k of $pid still runs, killing it"
            kill -KILL "$k" 2>/dev/null || true
        fi
    done
    return 0
}

cleanup() {
    local rc=$? p
    trap - EXIT INT TERM
    for p in "$helper_pid" "$ours_pid" "$nginx_pid" "$redis_pid"; do
        if [ -n "$p" ]; then stop_pid "$p"; fi
    done
    # anything else still running that is our child (never a reused pid)
    for p in "${!started[@]}"; do
        [ "$(ppid_of "$p")" = "$$" ] && stop_pid "$p"
    done
    [ -n "$tmp" ] && [ -d "$tmp" ] && rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT
trap 'note "interrupted"; exit 130' INT
trap 'note "terminated"; exit 143' TERM

# ---- Tools: build, packages, limits ----

have() { command -v "$1" >/dev/null 2>&1; }

install_pkgs() {
    if ! have dpkg-query || ! have apt-get; then
        die "missing $* and this is not a Debian-like system; install them by hand"
    fi
    . "$top/tools/deps.sh"
    deps_install "$@" || die "apt-get could not install: $*"
}

missing=()
have wrk || missing+=(wrk)
[ "$only_scrape" -eq 1 ] || have nginx || [ -x /usr/sbin/nginx ] || missing+=(nginx)
[ "$only_reload" -eq 1 ] || [ "$only_tls" -eq 1 ] || [ "$only_scrape" -eq 1 ] \
    || have gnuplot || missing+=(gnuplot-nox)
have curl || missing+=(curl)
have openssl || missing+=(openssl)
have cc || missing+=(build-essential)
# The nginx package may start a system nginx on port 80 through its
# postinst (unless policy-rc.d forbids it); we never touch that one.
[ ${#missing[@]} -eq 0 ] || install_pkgs "${missing[@]}"
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

if [ -n "${WEBSERVER_BIN:-}" ]; then
    bin=$WEBSERVER_BIN
    [ -x "$bin" ] || die "WEBSERVER_BIN=$bin is not an executable"
    build_note="given by WEBSERVER_BIN (not rebuilt)"
else
    bdir="$top/build"
    if [ -f "$bdir/CMakeCache.txt" ] \
        && { ! grep -q '^CMAKE_BUILD_TYPE:STRING=Release$' "$bdir/CMakeCache.txt" \
             || grep -q '^SANITIZE:STRING=.' "$bdir/CMakeCache.txt"; }; then
        note "build/ is not a plain Release build; using build-loadtest/ instead"
        bdir="$top/build-loadtest"
    fi
    if ! have cmake || ! have pkg-config; then
        . "$top/tools/deps.sh"
        install_pkgs $WEBSERVER_PKGS_BUILD
    fi
    note "building the Release binary in ${bdir#$top/}/ (log: $out/build.log)"
    { cmake -S "$top" -B "$bdir" -DCMAKE_BUILD_TYPE=Release \
        && cmake --build "$bdir" -j"$(nproc)" --target webserver; } \
        >"$out/build.log" 2>&1 || {
        tail -n 30 "$out/build.log" >&2
        die "the build failed, see $out/build.log"
    }
    bin="$bdir/webserver"
    build_note="Release, built in ${bdir#$top/}/"
fi

# Descriptors: 10000 idle connections and wrk -c5000 need them, in the
# servers and in the clients (all inherit this limit).
want_nofile=65536
ulimit -n "$want_nofile" 2>/dev/null || {
    hard=$(ulimit -Hn)
    [ "$hard" = unlimited ] && hard=$want_nofile
    [ "$hard" -gt "$want_nofile" ] && hard=$want_nofile
    ulimit -Sn "$hard" || die "cannot raise the open file limit"
}
nofile=$(ulimit -n)
[ "$nofile" = unlimited ] && nofile=$want_nofile
if [ "$nofile" -lt "$want_nofile" ]; then
    note "open file limit is $nofile (hard limit; wanted $want_nofile)"
fi
[ "$nofile" -ge 6000 ] || die "open file limit $nofile is below 6000; scenario 4 needs 5000 connections"
# the client holds one descriptor per connection; our workers budget two
# (socket and file), so each takes at most about nofile/2 connections
idle_max=$((nofile - 100))
[ $((procs * (nofile / 2 - 64))) -ge "$idle_max" ] || idle_max=$((procs * (nofile / 2 - 64)))
if [ "$idle_conns" -gt "$idle_max" ]; then
    idle_conns=$idle_max
    note "idle connections reduced to $idle_conns by the open file limit"
fi
worker_conns=20000
[ "$worker_conns" -le "$nofile" ] || worker_conns=$nofile

tmp=$(mktemp -d /tmp/loadtest.XXXXXX) || die "mktemp failed"
chmod 755 "$tmp"      # nginx workers run as nobody and must read the root

if [ "$only_reload" -eq 0 ] && [ "$only_tls" -eq 0 ] && [ "$only_scrape" -eq 0 ]; then
    cc -O2 -Wall -o "$out/idle_conns" "$here/idle_conns.c" 2>"$out/idle_conns.build.log" \
        || { cat "$out/idle_conns.build.log" >&2; die "cannot compile $here/idle_conns.c"; }
fi
no_resume=""
if [ "$only_reload" -eq 0 ] && [ "$only_scrape" -eq 0 ]; then
    no_resume="$out/no_resume.so"
    cc -O2 -Wall -shared -fPIC -o "$no_resume" "$here/no_resume.c" -ldl \
        2>"$out/no_resume.build.log" \
        || { cat "$out/no_resume.build.log" >&2; die "cannot compile $here/no_resume.c (libssl-dev?)"; }
fi
lua="$here/report.lua"
[ -f "$lua" ] || die "missing $lua"

# ---- The document root ----

docroot="$tmp/root"
mkdir -p "$docroot"
# index.html: exactly 1024 bytes of HTML, the filler sized to fit
head_html=$'<!DOCTYPE html>\n<html><head><title>loadtest</title></head><body>\n<p>'
tail_html=$'</p>\n</body></html>\n'
filler=$(printf 'lorem ipsum dolor sit amet %.0s' $(seq 1 60))
filler=${filler:0:$((1024 - ${#head_html} - ${#tail_html}))}
printf '%s%s%s' "$head_html" "$filler" "$tail_html" >"$docroot/index.html"
[ "$(wc -c <"$docroot/index.html")" -eq 1024 ] || die "index.html is not 1024 bytes"
head -c 65536 /dev/urandom >"$docroot/image-64k.jpg"
head -c 1048576 /dev/urandom >"$docroot/file-1m.bin"
truncate -s 256M "$docroot/video-256m.mp4"
chmod 755 "$docroot"; chmod 644 "$docroot"/*
declare -A fsize=([/index.html]=1024 [/image-64k.jpg]=65536
                  [/file-1m.bin]=1048576 [/video-256m.mp4]=268435456)

# ---- The certificate (both servers): self-signed, EC P-256 ----

tlsdir="$out/tls"
mkdir -p "$tlsdir"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
    -keyout "$tlsdir/key.pem" -out "$tlsdir/cert.pem" -days 30 -nodes \
    -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
    >"$tlsdir/openssl.log" 2>&1 || { cat "$tlsdir/openssl.log" >&2; die "openssl req failed"; }
chmod 644 "$tlsdir/cert.pem" "$tlsdir/key.pem"   # nginx reads them as root, ours as us

# ---- Ports ----

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A port outside the ephemeral range (32768+), so wrk's own client
# sockets never hold it.
pick_port() {
    local p i
    for i in $(seq 1 100); do
        p=$((20000 + RANDOM % 12000))
        port_in_use "$p" || { echo "$p"; return 0; }
    done
    die "found no free port in 20000-31999"
}

# HTTP status of a GET (curl, bounded).
http_status() {
    curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@" 2>/dev/null || true
}

# ---- Redis (scenario 6 only) ----

redis_port=""
s6_note=""
redis_server=${REDIS_SERVER:-redis-server}
start_redis() {
    if ! have "$redis_server"; then
        s6_note="skipped: redis-server not installed"
        return 0
    fi
    local i
    mkdir -p "$tmp/redis"
    redis_port=$(pick_port)
    "$redis_server" --port "$redis_port" --bind 127.0.0.1 --save '' \
        --appendonly no --dir "$tmp/redis" --daemonize no \
        --logfile "$out/redis.log" </dev/null >/dev/null 2>&1 &
    redis_pid=$!; started[$redis_pid]=1
    for i in $(seq 1 50); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$redis_port"; printf 'PING\r\n' >&3;
            read -r -t 1 r <&3; [ "${r%$'\r'}" = "+PONG" ]) 2>/dev/null; then
            return 0
        fi
        alive "$redis_pid" || break
        sleep 0.1
    done
    s6_note="skipped: private redis-server did not start (see $out/redis.log)"
    stop_pid "$redis_pid"; redis_pid=""; redis_port=""
}

# ---- Our server ----

ours_port="" ours_tls_port=""
ours_conf="$out/webserver.conf"
write_ours_conf() {
    cat >"$ours_conf" <<EOF
# written by tools/loadtest.sh
listen_address = 127.0.0.1
port = 0
port_file = $tmp/webserver.port
backlog = 4096
processes = $procs
max_connections = $worker_conns
root = $docroot
index = index.html
keepalive_timeout = 60s
max_keepalive_requests = 100000
error_log = $out/webserver-error.log
log_level = notice
access_log = off
redis_host = 127.0.0.1
redis_port = ${redis_port:-$(pick_port)}
tls_port = 0
tls_port_file = $tmp/webserver.tls-port
tls_certificate = $tlsdir/cert.pem
tls_certificate_key = $tlsdir/key.pem
tls_protocols = "TLSv1.2 TLSv1.3"
EOF
    "$bin" -t -c "$ours_conf" >/dev/null 2>"$tmp/conf-check" \
        || { cat "$tmp/conf-check" >&2; die "our server rejects $ours_conf"; }
}

start_ours() {
    local i
    rm -f "$tmp/webserver.port" "$tmp/webserver.tls-port"
    "$bin" -c "$ours_conf" </dev/null >>"$out/webserver-stdout.log" 2>&1 &
    ours_pid=$!; started[$ours_pid]=1
    for i in $(seq 1 100); do
        [ -s "$tmp/webserver.port" ] && [ -s "$tmp/webserver.tls-port" ] && break
        alive "$ours_pid" || break
        sleep 0.1
    done
    [ -s "$tmp/webserver.port" ] || {
        tail -n 20 "$out/webserver-error.log" "$out/webserver-stdout.log" >&2 || true
        die "our server did not start (no port_file within 10s)"
    }
    [ -s "$tmp/webserver.tls-port" ] || die "our server wrote no tls_port_file within 10s"
    ours_port=$(tr -dc 0-9 <"$tmp/webserver.port")
    ours_tls_port=$(tr -dc 0-9 <"$tmp/webserver.tls-port")
    wait_http ours "$ours_port" "$ours_pid"
    wait_https ours "$ours_tls_port" "$ours_pid"
    ours_workers=$(children_of "$ours_pid" | sort -n | tr '\n' ' ')
}

# ---- nginx, from its own prefix ----

nginx_port="" nginx_tls_port="" nginx_check_port=""
nginx_dir="$tmp/nginx"
write_nginx_conf() {
    mkdir -p "$nginx_dir/temp"
    cat >"$nginx_dir/nginx.conf" <<EOF
# written by tools/loadtest.sh; a private instance, not the system nginx
daemon off;
master_process on;
worker_processes $procs;
worker_rlimit_nofile $nofile;
pid $nginx_dir/nginx.pid;
error_log $out/nginx-error.log notice;
events {
    worker_connections $worker_conns;
    use epoll;
}
http {
    types {
        text/html                html;
        image/jpeg               jpg;
        video/mp4                mp4;
        application/octet-stream bin;
    }
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 60s;
    keepalive_requests 100000;
    open_file_cache off;
    ssl_certificate $tlsdir/cert.pem;
    ssl_certificate_key $tlsdir/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_tickets on;
    log_format tlscheck '\$ssl_protocol \$ssl_cipher \$ssl_session_reused';
    client_body_temp_path $nginx_dir/temp/body;
    proxy_temp_path $nginx_dir/temp/proxy;
    fastcgi_temp_path $nginx_dir/temp/fastcgi;
    uwsgi_temp_path $nginx_dir/temp/uwsgi;
    scgi_temp_path $nginx_dir/temp/scgi;
    server {
        listen 127.0.0.1:$nginx_port backlog=4096$reuseport;
        listen 127.0.0.1:$nginx_tls_port ssl backlog=4096$reuseport;
        server_name localhost;
        root $docroot;
        index index.html;
    }
    # only for the check that wrk does not resume TLS sessions (scenario 9)
    server {
        listen 127.0.0.1:$nginx_check_port ssl backlog=4096;
        server_name localhost;
        root $docroot;
        access_log $out/nginx-tls-check.log tlscheck;
    }
}
EOF
    cp "$nginx_dir/nginx.conf" "$out/nginx.conf"
}

start_nginx() {
    local i
    for _ in 1 2 3; do
        nginx_port=$(pick_port)
        nginx_tls_port=$(pick_port)
        nginx_check_port=$(pick_port)
        [ "$nginx_tls_port" != "$nginx_port" ] && [ "$nginx_check_port" != "$nginx_port" ] \
            && [ "$nginx_check_port" != "$nginx_tls_port" ] || continue
        write_nginx_conf
        "$nginx_bin" -p "$nginx_dir" -e "$out/nginx-error.log" -c "$nginx_dir/nginx.conf" \
            </dev/null >>"$out/nginx-stdout.log" 2>&1 &
        nginx_pid=$!; started[$nginx_pid]=1
        for i in $(seq 1 100); do
            alive "$nginx_pid" || break
            [ "$(http_status "http://127.0.0.1:$nginx_port/index.html")" = 200 ] && break
            sleep 0.1
        done
        if alive "$nginx_pid"; then
            wait_http nginx "$nginx_port" "$nginx_pid"
            wait_https nginx "$nginx_tls_port" "$nginx_pid"
            nginx_workers=$(children_of "$nginx_pid" | sort -n | tr '\n' ' ')
            return 0
        fi
        wait "$nginx_pid" 2>/dev/null || true
        nginx_pid=""
        grep -q "Address already in use" "$out/nginx-error.log" 2>/dev/null || break
    done
    tail -n 20 "$out/nginx-error.log" "$out/nginx-stdout.log" >&2 || true
    die "nginx did not start (see $out/nginx-error.log)"
}

# Wait (bounded) until NAME answers 200 on /index.html and has its workers.
wait_http() {
    local name=$1 port=$2 pid=$3 i
    for i in $(seq 1 100); do
        alive "$pid" || break
        if [ "$(http_status "http://127.0.0.1:$port/index.html")" = 200 ] \
            && [ "$(children_of "$pid" | wc -l)" -ge "$procs" ]; then
            return 0
        fi
        sleep 0.1
    done
    die "$name (pid $pid) does not answer on 127.0.0.1:$port within 10s"
}

# Wait (bounded) until NAME answers 200 on https://127.0.0.1:PORT/index.html.
wait_https() {
    local name=$1 port=$2 pid=$3 i
    for i in $(seq 1 100); do
        alive "$pid" || break
        [ "$(http_status --cacert "$tlsdir/cert.pem" --resolve "localhost:$port:127.0.0.1" \
             "https://localhost:$port/index.html")" = 200 ] && return 0
        sleep 0.1
    done
    die "$name (pid $pid) does not answer HTTPS on 127.0.0.1:$port within 10s"
}

stop_ours() { [ -n "$ours_pid" ] && stop_pid "$ours_pid"; ours_pid=""; }
stop_nginx() { [ -n "$nginx_pid" ] && stop_pid "$nginx_pid"; nginx_pid=""; }

port_of() { if [ "$1" = nginx ]; then echo "$nginx_port"; else echo "$ours_port"; fi; }
tls_port_of() { if [ "$1" = nginx ]; then echo "$nginx_tls_port"; else echo "$ours_tls_port"; fi; }
pid_of() { if [ "$1" = nginx ]; then echo "$nginx_pid"; else echo "$ours_pid"; fi; }
log_of() { if [ "$1" = nginx ]; then echo "$out/nginx-error.log"; else echo "$out/webserver-error.log"; fi; }

# ---- Findings that make the exit status 3 ----

declare -a anomalies=()
anomaly() { anomalies+=("$*"); note "PROBLEM: $*"; }

# After each run: the master must live and keep the same workers (a new
# worker pid means one died and was respawned).
check_server() {
    local srv=$1 what=$2 pid now before
    pid=$(pid_of "$srv")
    if ! alive "$pid"; then
        tail -n 30 "$(log_of "$srv")" >&2 || true
        die "$srv master (pid $pid) died during $what; log: $(log_of "$srv")"
    fi
    now=$(children_of "$pid" | sort -n | tr '\n' ' ')
    if [ "$srv" = nginx ]; then before=$nginx_workers; else before=$ours_workers; fi
    if [ "$now" != "$before" ]; then
        anomaly "$srv: worker set changed during $what ($before-> $now); see $(log_of "$srv")"
        tail -n 10 "$(log_of "$srv")" >&2 || true
        if [ "$srv" = nginx ]; then nginx_workers=$now; else ours_workers=$now; fi
    fi
}

# Sum of VmRSS (KiB) over the workers of master $1.
workers_rss() {
    local k sum=0 v
    for k in $(children_of "$1"); do
        v=$(awk '/^VmRSS:/{print $2}' "/proc/$k/status" 2>/dev/null || true)
        sum=$((sum + ${v:-0}))
    done
    echo "$sum"
}

# user+system clock ticks of master $1 and its workers, including workers
# that exited and were reaped (the master's cutime/cstime): a reload's old
# generation keeps counting after it is gone.
server_ticks() {
    local p line rest sum=0
    local -a f
    for p in "$1" $(children_of "$1"); do
        { read -r line <"/proc/$p/stat"; } 2>/dev/null || continue
        rest=${line##*) }
        read -r -a f <<<"$rest"
        sum=$((sum + f[11] + f[12]))
        [ "$p" != "$1" ] || sum=$((sum + f[13] + f[14]))
    done
    echo "$sum"
}
clk_tck=$(getconf CLK_TCK 2>/dev/null || echo 100)

# ---- Runs ----

csv_header="scenario,name,server,pair,requests_per_s,bytes_per_s,p50_ms,p99_ms,errors_connect,errors_read,errors_write,errors_timeout,errors_non2xx,errors_total,requests,duration_s,conns,rss_before_kib,rss_after_kib,kib_per_conn,server_cpu_s,reloads_sent,reloads_done,max_workers"
if [ "$only_reload" -eq 1 ]; then
    total_runs=$((reload_rounds * 2))
elif [ "$only_scrape" -eq 1 ]; then
    total_runs=$((pairs * 2))
elif [ "$only_tls" -eq 1 ]; then
    total_runs=$((pairs * 2 * 3))
else
    total_runs=$((pairs * 2 * 9 + reload_rounds * 2))
fi
run_no=0

# Run wrk; sets R_rps R_bps R_p50 R_p99 R_err* R_requests R_dur R_avg_bytes.
# $1 raw-file tag, $2 port, $3 path, $4 connections, $5 duration, rest: wrk args.
# The URL's scheme is $wrk_scheme (https for scenarios 8 to 10); wrk runs
# with LD_PRELOAD=$wrk_preload when that is set (scenario 9).
wrk_scheme=http
wrk_preload=""
wrk_run() {
    local tag=$1 port=$2 path=$3 conns=$4 dur=$5
    shift 5
    local raw="$out/raw/$tag.txt" rc=0
    local -a pre=()
    [ -z "$wrk_preload" ] || pre=(env "LD_PRELOAD=$wrk_preload")
    timeout -k 5 $((dur + 60)) "${pre[@]}" wrk -t2 -c"$conns" -d"${dur}s" --latency \
        --timeout 10s -s "$lua" "$@" "$wrk_scheme://127.0.0.1:$port$path" \
        >"$raw" 2>&1 || rc=$?
    wrk_parse "$tag" "$rc"
}

# Read the LOADTEST line of raw/$1.txt into the R_* variables; $2: wrk's
# exit status, for the message when there is none.
wrk_parse() {
    local tag=$1 rc=$2 line kv
    local raw="$out/raw/$tag.txt"
    line=$(grep '^LOADTEST ' "$raw" | tail -n 1 || true)
    if [ -z "$line" ]; then
        cat "$raw" >&2
        die "wrk failed (exit $rc) for $tag; output in $raw"
    fi
    declare -A r=()
    for kv in ${line#LOADTEST }; do r[${kv%%=*}]=${kv#*=}; done
    R_requests=${r[requests]}
    R_dur=$(awk -v d="${r[duration_us]}" 'BEGIN{printf "%.3f", d/1e6}')
    R_rps=$(awk -v n="${r[requests]}" -v d="${r[duration_us]}" 'BEGIN{printf "%.1f", (d > 0 ? n * 1e6 / d : 0)}')
    R_bps=$(awk -v n="${r[bytes]}" -v d="${r[duration_us]}" 'BEGIN{printf "%.0f", (d > 0 ? n * 1e6 / d : 0)}')
    R_avg_bytes=$(awk -v b="${r[bytes]}" -v n="${r[requests]}" 'BEGIN{printf "%.0f", (n > 0 ? b / n : 0)}')
    R_p50=$(awk -v u="${r[p50_us]}" 'BEGIN{printf "%.3f", u/1000}')
    R_p99=$(awk -v u="${r[p99_us]}" 'BEGIN{printf "%.3f", u/1000}')
    R_econn=${r[connect]} R_eread=${r[read]} R_ewrite=${r[write]}
    R_etimeout=${r[timeout]} R_estatus=${r[status]}
    R_errors=$((R_econn + R_eread + R_ewrite + R_etimeout + R_estatus))
}

progress() {
    run_no=$((run_no + 1))
    printf '[%2d/%d] %s\n' "$run_no" "$total_runs" "$*"
}

# One wrk measurement recorded as a results row.
# $1 scenario $2 name $3 server(ours|nginx|ours-static) $4 pair $5 path $6 conns, rest: wrk args
measure_wrk() {
    local sc=$1 name=$2 srv=$3 pair=$4 path=$5 conns=$6 target errs t0 cpu port
    shift 6
    target=${srv%-static}
    target=${target%-plain}
    port=$(port_of "$target")
    if [ "$sc" -ge 8 ] && [ "$sc" -le 10 ]; then wrk_scheme=https; port=$(tls_port_of "$target"); fi
    [ "$sc" -ne 9 ] || wrk_preload=$no_resume
    t0=$(server_ticks "$(pid_of "$target")")
    wrk_run "s$sc-$srv-$pair" "$port" "$path" "$conns" "$duration" "$@"
    wrk_scheme=http wrk_preload=""
    cpu=$(awk -v a="$(server_ticks "$(pid_of "$target")")" -v b="$t0" -v t="$clk_tck" \
          'BEGIN{printf "%.2f", (a - b) / t}')
    check_server "$target" "scenario $sc pair $pair"
    echo "$sc,$name,$srv,$pair,$R_rps,$R_bps,$R_p50,$R_p99,$R_econn,$R_eread,$R_ewrite,$R_etimeout,$R_estatus,$R_errors,$R_requests,$R_dur,$conns,,,,$cpu,,," \
        >>"$out/results.csv.tmp"
    errs=""
    [ "$R_errors" -eq 0 ] || errs=" errors $R_errors (connect $R_econn read $R_eread write $R_ewrite timeout $R_etimeout non2xx $R_estatus)"
    if [ "$sc" -eq 3 ]; then
        progress "$(printf 's%s %-22s pair %d %-11s %9.1f MiB/s  p50 %8.3fms  p99 %8.3fms%s' \
            "$sc" "$name" "$pair" "$srv" "$(awk -v b="$R_bps" 'BEGIN{print b/1048576}')" \
            "$R_p50" "$R_p99" "$errs")"
    else
        progress "$(printf 's%s %-22s pair %d %-11s %9.0f req/s  p50 %8.3fms  p99 %8.3fms  cpu %6.1f us/req%s' \
            "$sc" "$name" "$pair" "$srv" "$R_rps" "$R_p50" "$R_p99" \
            "$(awk -v c="$cpu" -v n="$R_requests" 'BEGIN{print (n > 0 ? c * 1e6 / n : 0)}')" "$errs")"
    fi
    # errors: connection-level and >= 400 are failures of the server under
    # test; timeouts (10s) are load, reported but not a failure.
    if [ $((R_econn + R_eread + R_ewrite + R_estatus)) -gt 0 ]; then
        if [ "$sc" -eq 4 ] || [ "$target" = ours ]; then
            anomaly "scenario $sc pair $pair $srv: connect $R_econn, read $R_eread, write $R_ewrite, non-2xx $R_estatus"
        fi
    fi
}

# Scenario 5 for one server: fresh start, RSS, N idle conns, RSS, stop.
measure_idle() {
    local srv=$1 pair=$2 pid port before after ready ok failed kib i
    if [ "$srv" = ours ]; then stop_ours; start_ours; else stop_nginx; start_nginx; fi
    pid=$(pid_of "$srv"); port=$(port_of "$srv")
    for i in 1 2 3 4; do http_status "http://127.0.0.1:$port/index.html" >/dev/null; done
    sleep 0.5
    before=$(workers_rss "$pid")
    "$out/idle_conns" 127.0.0.1 "$port" /index.html "$idle_conns" 60 300 \
        </dev/null >"$tmp/idle.out" 2>"$tmp/idle.err" &
    helper_pid=$!; started[$helper_pid]=1
    for i in $(seq 1 900); do
        grep -q '^ready' "$tmp/idle.out" 2>/dev/null && break
        alive "$helper_pid" || break
        sleep 0.1
    done
    ready=$(grep '^ready' "$tmp/idle.out" 2>/dev/null || true)
    if [ -z "$ready" ]; then
        cat "$tmp/idle.err" >&2
        die "idle_conns did not get ready against $srv"
    fi
    ok=$(sed -n 's/.*ok=\([0-9]*\).*/\1/p' <<<"$ready")
    failed=$(sed -n 's/.*failed=\([0-9]*\).*/\1/p' <<<"$ready")
    sleep 1
    after=$(workers_rss "$pid")
    check_server "$srv" "scenario 5 pair $pair"
    stop_pid "$helper_pid"; helper_pid=""
    kib=$(awk -v a="$after" -v b="$before" -v n="$ok" 'BEGIN{printf "%.3f", (n > 0 ? (a - b) / n : 0)}')
    echo "5,idle-conns,$srv,$pair,,,,,,,,,$failed,$failed,,,$ok,$before,$after,$kib,,,," \
        >>"$out/results.csv.tmp"
    progress "$(printf 's5 %-22s pair %d %-11s %9.2f KiB/conn  RSS %d -> %d KiB, %d conns%s' \
        idle-conns "$pair" "$srv" "$kib" "$before" "$after" "$ok" \
        "$([ "$failed" -eq 0 ] || echo ", $failed FAILED")")"
    [ "$failed" -eq 0 ] || anomaly "scenario 5 pair $pair $srv: $failed of $idle_conns idle connections failed"
}

# ---- Scenario 7: reloads under keep-alive load ----

# Lines of file $1 that contain $2 (0 if none, or no file).
count_lines() {
    local n
    n=$(grep -c -- "$2" "$1" 2>/dev/null) || true
    echo "${n:-0}"
}

# Microseconds since the epoch, from bash itself (no fork).
now_us() { local t=${EPOCHREALTIME/[.,]/}; echo "$((10#$t))"; }

# Wait (bounded) until the master of $1 has only its current workers: the
# generations that earlier reloads replaced have drained and exited.
wait_settled() {
    local srv=$1 pid n i
    pid=$(pid_of "$srv")
    for i in $(seq 1 600); do
        n=$(children_of "$pid" | wc -l)
        [ "$n" -le "$procs" ] && break
        alive "$pid" || die "$srv master (pid $pid) died; log: $(log_of "$srv")"
        sleep 0.1
    done
    [ "$n" -le "$procs" ] \
        || anomaly "$srv: still $n worker processes 60s after its last reload (expected $procs)"
    if [ "$srv" = nginx ]; then
        nginx_workers=$(children_of "$pid" | sort -n | tr '\n' ' ')
    else
        ours_workers=$(children_of "$pid" | sort -n | tr '\n' ' ')
    fi
}

# Scenario 7 for server $1, round $2: wrk keep-alive, 50 connections, on
# /index.html in the background; meanwhile HUP to the master we started
# every reload_interval seconds, as long as wrk runs. Records the wrk
# figures, the reloads sent and the ones the server's log says it carried
# out, and the most worker processes seen (sampled every 0.5 s, so a
# generation that drains faster than that is rarely caught).
measure_reload() {
    local srv=$1 round=$2 pid port log pattern tag wrk_pid rc=0 t0 cpu
    local start next now nap sent=0 done_before done_n=0 n max_workers i errs
    local want=$(((reload_duration - 1) / reload_interval))   # HUPs planned
    pid=$(pid_of "$srv"); port=$(port_of "$srv"); log=$(log_of "$srv")
    # ours logs "reload done: generation N" once the new generation is
    # ready; nginx logs "signal 1 (SIGHUP) received from P, reconfiguring"
    # when the signal arrives and "PID#0: reconfiguring" when its master
    # acts on it (grep's basic regex)
    if [ "$srv" = nginx ]; then
        pattern='#[0-9]*: reconfiguring$'
    else
        pattern="reload done"
    fi
    wait_settled "$srv"
    done_before=$(count_lines "$log" "$pattern")
    max_workers=$(children_of "$pid" | wc -l)
    t0=$(server_ticks "$pid")
    tag="s7-$srv-$round"
    timeout -k 5 $((reload_duration + 60)) wrk -t2 -c50 -d"${reload_duration}s" \
        --latency --timeout 10s -s "$lua" "http://127.0.0.1:$port/index.html" \
        </dev/null >"$out/raw/$tag.txt" 2>&1 &
    wrk_pid=$!; started[$wrk_pid]=1; helper_pid=$wrk_pid
    start=$(now_us)
    for ((i = 1; i * reload_interval < reload_duration; i++)); do
        next=$((start + i * reload_interval * 1000000))
        # sleep in steps of at most 0.5 s, counting the worker processes
        while now=$(now_us); [ "$now" -lt "$next" ]; do
            nap=$((next - now)); [ "$nap" -le 500000 ] || nap=500000
            sleep "$((nap / 1000000)).$(printf '%06d' $((nap % 1000000)))"
            n=$(children_of "$pid" | wc -l)
            [ "$n" -le "$max_workers" ] || max_workers=$n
        done
        alive "$wrk_pid" || break
        alive "$pid" || break
        kill -HUP "$pid" && sent=$((sent + 1))
    done
    wait "$wrk_pid" || rc=$?
    unset "started[$wrk_pid]"; helper_pid=""
    cpu=$(awk -v a="$(server_ticks "$pid")" -v b="$t0" -v t="$clk_tck" \
          'BEGIN{printf "%.2f", (a - b) / t}')
    wrk_parse "$tag" "$rc"
    if ! alive "$pid"; then
        tail -n 30 "$log" >&2 || true
        die "$srv master (pid $pid) died during scenario 7 round $round; log: $log"
    fi
    # the last reload may still be on its way (bounded wait)
    for i in $(seq 1 100); do
        done_n=$(($(count_lines "$log" "$pattern") - done_before))
        [ "$done_n" -lt "$sent" ] || break
        sleep 0.1
    done
    echo "7,reload-keepalive-1k,$srv,$round,$R_rps,$R_bps,$R_p50,$R_p99,$R_econn,$R_eread,$R_ewrite,$R_etimeout,$R_estatus,$R_errors,$R_requests,$R_dur,50,,,,$cpu,$sent,$done_n,$max_workers" \
        >>"$out/results.csv.tmp"
    errs="errors: connect $R_econn read $R_eread write $R_ewrite timeout $R_etimeout non-2xx $R_estatus"
    progress "$(printf 's7 %-22s round %d %-6s %9.0f req/s  %8d requests  %d reloads (%d done)  up to %d workers  %s' \
        reload-keepalive-1k "$round" "$srv" "$R_rps" "$R_requests" "$sent" "$done_n" \
        "$max_workers" "$errs")"
    [ "$sent" -eq "$want" ] \
        || anomaly "scenario 7 round $round $srv: $sent reloads sent, $want planned (wrk ended early?)"
    if [ "$srv" = ours ]; then
        [ "$R_errors" -eq 0 ] \
            || anomaly "scenario 7 round $round ours: $errs (raw/$tag.txt)"
        [ "$done_n" -ge "$sent" ] \
            || anomaly "scenario 7 round $round ours: $done_n of $sent reloads carried out (see $log)"
    fi
}

# ---- Scenarios 8 and 9: HTTPS ----

# What a TLS client negotiates with port $1: "TLSv1.3 TLS_AES_256_GCM_SHA384 X25519".
tls_negotiated() {
    timeout 10 openssl s_client -connect "127.0.0.1:$1" -servername localhost \
        </dev/null 2>/dev/null | awk '
        /^New, / { sub(/,$/, "", $2); proto = $2; cipher = $NF }
        /^Server Temp Key:/ { sub(/,$/, "", $4); grp = $4 }
        END { printf "%s %s %s\n", proto, cipher, grp }' || true
}

# Scenario 9 must make a full handshake per request, scenario 10 resume.
# Against nginx's check port (its access log has $ssl_session_reused):
# first openssl s_client saves a session and offers it again (the log must
# show that one reused: resumption works there), then 1 s of each load
# (wrk -t2 -c100, "Connection: close"; with and without the no_resume shim).
tls_resume_note=""
check_wrk_resumption() {
    local log="$out/nginx-tls-check.log" before mid sc_reused n total reused rc tag what
    local req=$'GET /index.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'
    local port=$nginx_check_port
    before=$(count_lines "$log" .)
    printf '%s' "$req" | timeout 10 openssl s_client -connect "127.0.0.1:$port" \
        -servername localhost -ign_eof -sess_out "$tmp/tls.sess" >/dev/null 2>&1 || true
    sc_reused=$(printf '%s' "$req" | timeout 10 openssl s_client -connect "127.0.0.1:$port" \
        -servername localhost -ign_eof -sess_in "$tmp/tls.sess" 2>/dev/null | grep -c '^Reused' || true)
    sleep 0.2
    n=$(tail -n +"$((before + 1))" "$log" | grep -c ' r$' || true)
    tls_resume_note="control: openssl s_client -sess_in resumed ${sc_reused:-0} of 1, nginx logged $n reused"
    [ "${sc_reused:-0}" -ge 1 ] && [ "$n" -ge 1 ] \
        || anomaly "TLS resumption check: the openssl s_client control did not resume"
    for tag in 9 10; do
        mid=$(count_lines "$log" .)
        rc=0
        [ "$tag" -eq 10 ] || wrk_preload=$no_resume
        wrk_scheme=https
        wrk_run "tls-resume-check-s$tag" "$port" /index.html 100 1 -H 'Connection: close' || rc=$?
        wrk_scheme=http wrk_preload=""
        sleep 0.2
        total=$(tail -n +"$((mid + 1))" "$log" | wc -l)
        reused=$(tail -n +"$((mid + 1))" "$log" | grep -c ' r$' || true)
        what=$(tail -n +"$((mid + 1))" "$log" | sort | uniq -c | sort -rn | head -n 3 \
               | awk '{c = $1; $1 = ""; printf "%s%s x%s", (NR > 1 ? "; " : ""), substr($0, 2), c}')
        [ "$tag" -eq 9 ] && what="wrk + no_resume.so (scenario 9): $total requests, $reused resumed ($what)" \
                         || what="plain wrk (scenario 10): $total requests, $reused resumed ($what)"
        tls_resume_note="$tls_resume_note; $what"
        [ "$total" -gt 0 ] || anomaly "TLS resumption check s$tag: no requests logged in $log"
        if [ "$tag" -eq 9 ] && [ "$reused" -ne 0 ]; then
            anomaly "TLS resumption check: $reused of $total requests resumed with no_resume.so; scenario 9 is not a full handshake per request"
        fi
    done
    note "TLS resumption check (nginx access log, 1 s of \"Connection: close\" each): $tls_resume_note"
}

run_tls_scenarios() {
    local srv
    check_wrk_resumption
    # warm-up (not recorded)
    for srv in ours nginx; do
        wrk_scheme=https
        wrk_run "warmup-tls-$srv" "$(tls_port_of "$srv")" /index.html 100 1
        wrk_scheme=http
        check_server "$srv" "TLS warm-up"
    done
    for pair in $(seq 1 "$pairs"); do
        for srv in ours nginx; do
            measure_wrk 8 tls-keepalive-1k "$srv" "$pair" /index.html 100
        done
    done
    for pair in $(seq 1 "$pairs"); do
        for srv in ours nginx; do
            measure_wrk 9 tls-close-full-1k "$srv" "$pair" /index.html 100 -H 'Connection: close'
        done
    done
    for pair in $(seq 1 "$pairs"); do
        for srv in ours nginx; do
            measure_wrk 10 tls-close-resumed-1k "$srv" "$pair" /index.html 100 -H 'Connection: close'
        done
    done
}

# ---- Start ----

if [ "$only_reload" -eq 1 ]; then
    s6_note="not run (--reload)"
elif [ "$only_tls" -eq 1 ]; then
    s6_note="not run (--tls)"
elif [ "$only_scrape" -eq 1 ]; then
    s6_note="not run (--scrape)"
else
    start_redis
    [ -z "$s6_note" ] || total_runs=$((total_runs - pairs * 2))
fi
write_ours_conf
start_ours
servers="ours nginx"
if [ "$only_scrape" -eq 1 ]; then
    servers=ours
else
    start_nginx
fi

# Both serve the same bytes: status and Content-Length of every file.
for path in "${!fsize[@]}"; do
    for srv in $servers; do
        got=$(curl -s -o /dev/null -w '%{http_code} %{size_download}' --max-time 30 \
              "http://127.0.0.1:$(port_of "$srv")$path" || true)
        [ "$got" = "200 ${fsize[$path]}" ] \
            || die "$srv: GET $path gave \"$got\", expected \"200 ${fsize[$path]}\""
    done
done
for srv in $servers; do
    port=$(tls_port_of "$srv")
    got=$(curl -s -o /dev/null -w '%{http_code} %{size_download}' --max-time 30 \
          --cacert "$tlsdir/cert.pem" --resolve "localhost:$port:127.0.0.1" \
          "https://localhost:$port/index.html" || true)
    [ "$got" = "200 1024" ] || die "$srv: GET https://localhost:$port/index.html gave \"$got\""
done

{
    echo "date: $(date -Is)"
    echo "command: tools/loadtest.sh $args"
    echo "git: $(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$top" diff --quiet 2>/dev/null || echo ' (dirty)')"
    echo "webserver: $("$bin" -V 2>&1) ($build_note) $bin"
    [ "$only_scrape" -eq 1 ] || echo "nginx: $("$nginx_bin" -v 2>&1 | sed 's/^nginx version: //')"
    echo "wrk: $(wrk -v 2>&1 | head -n 1 | awk '{print $2}')"
    echo "redis: $(have "$redis_server" && "$redis_server" --version | awk '{print $3}' || echo none)"
    echo "cpus: $(nproc) ($(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'))"
    echo "kernel: $(uname -r)"
    echo "processes: $procs per server; wrk -t2 on the same cores (not pinned)"
    if [ "$only_reload" -eq 0 ]; then
        echo "pairs: $pairs; duration: ${duration}s per run; idle connections: $idle_conns"
    fi
    if [ "$only_reload" -eq 0 ] && [ "$only_scrape" -eq 0 ]; then
        echo "openssl: $(openssl version) (command line); nginx built with: $("$nginx_bin" -V 2>&1 | sed -n 's/^built with //p')"
        echo "tls: one self-signed EC P-256 certificate ($tlsdir/cert.pem); nginx: ssl_protocols TLSv1.2 TLSv1.3, ssl_session_tickets on, ssl_session_cache default (none), default ciphers; ours: tls_protocols TLSv1.2 TLSv1.3, default ciphers"
        echo "tls negotiated by openssl s_client: ours $(tls_negotiated "$ours_tls_port"); nginx $(tls_negotiated "$nginx_tls_port")"
    fi
    [ "$only_scrape" -eq 0 ] || echo "scenario 11: scenario 1 of ours, plain and with curl on /metrics every 1 s (the scraper), alternating; no nginx"
    [ "$only_tls" -eq 1 ] || [ "$only_scrape" -eq 1 ] || echo "scenario 7: $reload_rounds rounds of ${reload_duration}s per server, wrk -c50, HUP to the master every ${reload_interval}s by pid (nginx too: kill -HUP, not nginx -s)"
    echo "open files limit: $nofile; worker_connections / max_connections: $worker_conns"
    echo "both: access log off, keep-alive 60s, 100000 requests per connection, backlog 4096"
    echo "wrk: -t2 --latency --timeout 10s; timeouts are reported, not counted as failures (scenario 7: any error of ours is one)"
    [ "$only_scrape" -eq 1 ] || echo "nginx: sendfile on, tcp_nopush on, tcp_nodelay on, open_file_cache off, listen${reuseport:- without reuseport}"
    echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "server_cpu_s in results.csv: user+system seconds of master and workers during the run"
} >"$out/env.txt"

note "output: $out"
if [ "$only_scrape" -eq 1 ]; then
    echo "webserver, $procs worker processes, scenario 11 only: scenario 1 without and with" \
         "a /metrics scrape every second, $pairs pairs of ${duration}s runs;" \
         "wrk -t2 shares the $(nproc) cores with the server"
elif [ "$only_tls" -eq 1 ]; then
    echo "webserver vs nginx: $procs worker processes each, HTTPS scenarios 8 to 10 only," \
         "$pairs pairs of ${duration}s runs; wrk -t2 shares the $(nproc) cores with the server under test"
elif [ "$only_reload" -eq 1 ]; then
    echo "webserver vs nginx: $procs worker processes each, scenario 7 only:" \
         "$reload_rounds rounds of ${reload_duration}s, HUP every ${reload_interval}s;" \
         "wrk -t2 shares the $(nproc) cores with the server under test"
else
    echo "webserver vs nginx: $procs worker processes each, $pairs pairs of ${duration}s runs;" \
         "wrk -t2 shares the $(nproc) cores with the server under test"
fi

# Scenarios 1 to 6 (not with --reload).
run_scenarios_1_to_6() {
    # warm-up (not recorded): page cache, lazy initialisation
    for srv in ours nginx; do
        wrk_run "warmup-$srv" "$(port_of "$srv")" /index.html 100 1
        wrk_run "warmup-big-$srv" "$(port_of "$srv")" /file-1m.bin 20 1
        check_server "$srv" "warm-up"
    done

    for pair in $(seq 1 "$pairs"); do
        for srv in ours nginx; do
            measure_wrk 1 keepalive-1k "$srv" "$pair" /index.html 100
        done
    done
    for pair in $(seq 1 "$pairs"); do
        for srv in ours nginx; do
            measure_wrk 2 close-1k "$srv" "$pair" /index.html 100 -H 'Connection: close'
        done
    done
    for pair in $(seq 1 "$pairs"); do
        for srv in ours nginx; do
            measure_wrk 3 keepalive-1m "$srv" "$pair" /file-1m.bin 20
        done
    done
    for pair in $(seq 1 "$pairs"); do
        for srv in ours nginx; do
            measure_wrk 4 keepalive-1k-c5000 "$srv" "$pair" /index.html 5000
        done
    done
    for pair in $(seq 1 "$pairs"); do
        for srv in ours nginx; do
            measure_idle "$srv" "$pair"
        done
    done

    # Scenario 6: our server only; each pair is a /welcome run and a scenario-1
    # run (same connections) right after it, so the ratio is drift-free.
    sid=""
    if [ -z "$s6_note" ]; then
        base="http://127.0.0.1:$ours_port"
        st=$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 \
             -d 'username=bench&password=benchpass123' "$base/register" || true)
        if [ "$st" != 303 ] && [ "$st" != 409 ]; then
            s6_note="skipped: POST /register answered $st"
        else
            sid=$(curl -s -o /dev/null -D - --max-time 30 \
                  -d 'username=bench&password=benchpass123' "$base/login" \
                  | tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: sid=\([^;]*\).*/\1/p' | head -n 1 || true)
            if [ -z "$sid" ]; then
                s6_note="skipped: POST /login gave no sid cookie"
            else
                st=$(http_status -H "Cookie: sid=$sid" "$base/welcome")
                [ "$st" = 200 ] || s6_note="skipped: GET /welcome with the cookie answered $st"
            fi
        fi
        [ -z "$s6_note" ] || anomaly "scenario 6 $s6_note (redis is up)"
    fi
    if [ -n "$s6_note" ]; then
        note "scenario 6 $s6_note"
    else
        welcome_size=$(curl -s -o /dev/null -D "$tmp/welcome.h" -w '%{size_download}' \
                       -H "Cookie: sid=$sid" "$base/welcome")
        welcome_size=$((welcome_size + $(wc -c <"$tmp/welcome.h")))
        for pair in $(seq 1 "$pairs"); do
            measure_wrk 6 welcome-session ours "$pair" /welcome 100 -H "Cookie: sid=$sid"
            # a 303 to /login.html is not a wrk error: check the size per answer
            if [ "$R_avg_bytes" -lt $((welcome_size * 9 / 10)) ]; then
                anomaly "scenario 6 pair $pair: $R_avg_bytes bytes per answer, a 200 /welcome is $welcome_size (redirects?)"
            fi
            measure_wrk 6 welcome-session ours-static "$pair" /index.html 100
        done
    fi
}

# The scraper of scenario 11: curl on /metrics every second, each status
# appended to $tmp/scrapes; started in the background, stopped by its pid.
start_scraper() {
    local url="http://127.0.0.1:$ours_port/metrics"
    ( while :; do
          curl -s -o /dev/null -w '%{http_code}\n' --max-time 5 "$url" \
              >>"$tmp/scrapes" 2>/dev/null || echo 000 >>"$tmp/scrapes"
          sleep 1
      done ) </dev/null >/dev/null 2>&1 &
    scraper_pid=$!; started[$scraper_pid]=1
}

stop_scraper() {
    [ -n "$scraper_pid" ] || return 0
    stop_pid "$scraper_pid"; scraper_pid=""
}

# Scenario 11 (--scrape): scenario 1 on ours, plain then scraped, per pair.
run_scrape_scenario() {
    local n ok
    wrk_run "warmup-ours" "$ours_port" /index.html 100 1
    check_server ours "warm-up"
    : >"$tmp/scrapes"
    # odd pairs run plain first, even pairs scraped first, so that a
    # machine getting busier (or quieter) during the run favours neither
    for pair in $(seq 1 "$pairs"); do
        if [ $((pair % 2)) -eq 1 ]; then
            measure_wrk 11 keepalive-1k-scrape ours-plain "$pair" /index.html 100
        fi
        start_scraper
        measure_wrk 11 keepalive-1k-scrape ours "$pair" /index.html 100
        stop_scraper
        if [ $((pair % 2)) -eq 0 ]; then
            measure_wrk 11 keepalive-1k-scrape ours-plain "$pair" /index.html 100
        fi
    done
    n=$(wc -l <"$tmp/scrapes")
    ok=$(grep -c '^200$' "$tmp/scrapes" || true)
    echo "scenario 11 scrapes: $ok of $n answered 200" | tee -a "$out/env.txt"
    [ "$n" -gt 0 ] && [ "$ok" -eq "$n" ] \
        || anomaly "scenario 11: $ok of $n scrapes of /metrics answered 200"
    cp "$tmp/scrapes" "$out/raw/s11-scrape-statuses.txt"
    curl -s --max-time 5 "http://127.0.0.1:$ours_port/metrics" >"$out/raw/s11-metrics.txt" || true
}

if [ "$only_scrape" -eq 1 ]; then
    run_scrape_scenario
elif [ "$only_tls" -eq 1 ]; then
    run_tls_scenarios
elif [ "$only_reload" -eq 0 ]; then
    run_scenarios_1_to_6
    run_tls_scenarios
else
    # warm-up (not recorded): page cache, lazy initialisation
    for srv in ours nginx; do
        wrk_run "warmup-$srv" "$(port_of "$srv")" /index.html 50 1
        check_server "$srv" "warm-up"
    done
fi

# Scenario 7: rounds alternate ours, nginx; reloads every server the same.
if [ "$only_tls" -eq 0 ] && [ "$only_scrape" -eq 0 ]; then
    for round in $(seq 1 "$reload_rounds"); do
        for srv in ours nginx; do
            measure_reload "$srv" "$round"
        done
    done
fi
[ -z "$tls_resume_note" ] || echo "tls resumption check: $tls_resume_note" >>"$out/env.txt"

# ---- Stop, then report ----

stop_ours; stop_nginx
[ -n "$redis_pid" ] && { stop_pid "$redis_pid"; redis_pid=""; }

{ echo "$csv_header"; cat "$out/results.csv.tmp"; } >"$out/results.csv"
rm -f "$out/results.csv.tmp"

# summary.csv: per scenario the medians of ours and nginx, the median of
# per-pair ratios ours/nginx (scenario 6: /welcome / static on ours) and
# their range. For an even count the median of ratios is the geometric mean
# of the middle two (ratios multiply; 0.5 and 2 average to 1). Scenario 7's
# pairs are its rounds; its errors are what counts there.
awk -F, -v s6note="$s6_note" -v pairs="$pairs" -v rounds="$reload_rounds" \
    -v full=$((1 - only_reload - only_tls - only_scrape)) -v every="$reload_interval" '
function sort(list, a,   n, i, j, t) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > t + 0; j--) a[j+1] = a[j]; a[j+1] = t }
    return n
}
function median(list,   a, n) {
    n = sort(list, a)
    if (n == 0) return ""
    return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
}
function rmedian(list,   a, n) {
    n = sort(list, a)
    if (n == 0) return ""
    return n % 2 ? a[(n+1)/2] : sqrt(a[n/2] * a[n/2+1])
}
function rmin(list,   a, n) { n = sort(list, a); return n ? a[1] : "" }
function rmax(list,   a, n) { n = sort(list, a); return n ? a[n] : "" }
NR == 1 { next }
{
    sc = $1; srv = $3; pair = $4
    name[sc] = $2
    if (sc == 5) v = $20; else if (sc == 3) v = $6; else v = $5
    val[sc, srv, pair] = v
    vals[sc, srv] = vals[sc, srv] " " v
    p50[sc, srv] = p50[sc, srv] " " $7; p99[sc, srv] = p99[sc, srv] " " $8
    err[sc, srv] += $14
    if (sc != 5 && $15 > 0 && $21 != "") cpu[sc, srv] = cpu[sc, srv] " " $21 * 1e6 / $15
    seen[sc] = 1
}
END {
    print "scenario,name,metric,ours,nginx,ratio,ratio_min,ratio_max,ours_p50_ms,ours_p99_ms,nginx_p50_ms,nginx_p99_ms,ours_errors,nginx_errors,pairs,note,ours_cpu_us_per_req,nginx_cpu_us_per_req"
    for (sc = 1; sc <= 11; sc++) {
        metric = sc == 3 ? "bytes_per_s" : sc == 5 ? "kib_per_conn" : "requests_per_s"
        if (!(sc in seen)) {
            if (sc == 6 && full) printf "6,welcome-session,requests_per_s,,,,,,,,,,,,0,%s,,\n", s6note
            continue
        }
        other = sc == 6 ? "ours-static" : sc == 11 ? "ours-plain" : "nginx"
        rl = ""
        for (p = 1; p <= (sc == 7 ? rounds : pairs); p++)
            if (((sc, "ours", p) in val) && ((sc, other, p) in val) && val[sc, other, p] != 0)
                rl = rl " " val[sc, "ours", p] / val[sc, other, p]
        note = sc == 5 ? "lower is better" : sc == 6 ? "nginx column: ours on scenario 1 (static 1 KiB); ratio = welcome/static" : \
               sc == 7 ? "HUP every " every "s; errors = socket errors + non-2xx over all rounds (see results.csv)" : \
               sc == 9 ? "a new TLS connection with a full handshake per request (wrk + no_resume.so)" : \
               sc == 10 ? "a new TLS connection per request with the session resumed (plain wrk)" : \
               sc == 11 ? "nginx column: ours on scenario 1 without the scraper; ratio = scraped/plain" : ""
        np = split(rl, tmp, " ")
        cu = median(cpu[sc, "ours"]); cn = median(cpu[sc, other])
        printf "%d,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%d,%d,%d,%s,%s,%s\n", sc, name[sc], metric,
            median(vals[sc, "ours"]), median(vals[sc, other]),
            np ? sprintf("%.4f", rmedian(rl)) : "", np ? sprintf("%.4f", rmin(rl)) : "",
            np ? sprintf("%.4f", rmax(rl)) : "",
            sc == 5 ? "" : median(p50[sc, "ours"]), sc == 5 ? "" : median(p99[sc, "ours"]),
            sc == 5 ? "" : median(p50[sc, other]), sc == 5 ? "" : median(p99[sc, other]),
            err[sc, "ours"], err[sc, other], np, note,
            cu == "" ? "" : sprintf("%.1f", cu), cn == "" ? "" : sprintf("%.1f", cn)
    }
}' "$out/results.csv" >"$out/summary.csv"

# The table (also in summary.txt).
awk -F, -v procs="$procs" -v dur="$duration" -v pairs="$pairs" -v idle="$idle_conns" \
    -v full=$((1 - only_reload - only_scrape)) -v every="$reload_interval" '
function n(x) { return x == "" ? "-" : x }
function lat(a, b) { return a == "" ? "-" : sprintf("%.2f/%.2f ms", a, b) }
function num(x, unit) {
    if (x == "") return "-"
    if (unit == "MiB/s") return sprintf("%.1f MiB/s", x / 1048576)
    if (unit == "KiB/conn") return sprintf("%.2f KiB/conn", x)
    return sprintf("%.0f req/s", x)
}
BEGIN {
    label[1] = "1 keep-alive 1 KiB, c100"
    label[2] = "2 Connection: close 1 KiB, c100"
    label[3] = "3 keep-alive 1 MiB, c20"
    label[4] = "4 keep-alive 1 KiB, c5000"
    label[5] = "5 idle keep-alive, " idle " conns"
    label[6] = "6 GET /welcome (session), c100"
    label[7] = "7 HUP every " every "s, 1 KiB, c50"
    label[8] = "8 HTTPS keep-alive 1 KiB, c100"
    label[9] = "9 HTTPS close, full handshake"
    label[10] = "10 HTTPS close, resumed"
    label[11] = "11 as 1, /metrics every 1 s"
    printf "%-33s %15s %15s %6s %-11s %-19s %-19s %-17s %s\n", "scenario", "ours", "nginx", "ratio", "(range)", "ours p50/p99", "nginx p50/p99", "errors ours/nginx", "cpu us/req ours/nginx"
}
NR == 1 { next }
{
    sc = $1
    unit = sc == 3 ? "MiB/s" : sc == 5 ? "KiB/conn" : "req/s"
    if (sc == 6 && $4 == "") {
        printf "%-33s %s\n", label[6], $16
        next
    }
    nginx = sc == 6 || sc == 11 ? num($5, unit) "*" : num($5, unit)
    printf "%-33s %15s %15s %6s %-11s %-19s %-19s %-17s %s%s\n", label[sc], num($4, unit), nginx,
        $6 == "" ? "-" : sprintf("%.2f", $6), $6 == "" ? "" : sprintf("%.2f-%.2f", $7, $8),
        lat($9, $10), lat($11, $12), $13 "/" $14,
        $17 == "" ? "-" : $17 "/" $18,
        sc == 5 ? "  (lower is better)" : ""
    if (sc == 6) s6 = 1
    if (sc == 11) s11 = 1
}
END {
    if (s6) print "* scenario 6: nginx has no sessions; that column is ours on scenario 1 (static 1 KiB, c100),\n  run right after each /welcome run; ratio = /welcome / static, both ours."
    if (s11) print "* scenario 11: that column is ours on scenario 1 without the scraper, in the same pair\n  (plain first in odd pairs, scraped first in even ones); ratio = scraped / plain, both ours."
    printf "ratio: median of the per-pair ratios ours/nginx; (range): lowest-highest pair.\n"
    if (full)
        printf "%d pairs of %ss runs, alternating ours, nginx; worker processes: %d each; wrk -t2 runs\n", pairs, dur, procs
    else
        printf "worker processes: %d each; wrk -t2 runs\n", procs
    printf "on the same cores as the servers, so absolute figures are lower than with a separate client.\n"
    printf "cpu us/req: median over the runs of the user+system time of master and workers / requests.\n"
}' "$out/summary.csv" | tee "$out/summary.txt"

# Scenario 7 round by round (also in summary.txt): what the goal counts.
awk -F, -v dur="$reload_duration" -v every="$reload_interval" '
NR == 1 || $1 != 7 { next }
{
    if (!hdr++) {
        printf "\nscenario 7: wrk -c50 keep-alive %ss on 1 KiB, HUP to the master every %ss; per round:\n", dur, every
        printf "%-6s %-6s %10s %9s %29s %8s %8s %12s %8s\n", "round", "server", "requests", "req/s", "socket errors c/r/w/timeout", "non-2xx", "reloads", "carried out", "workers"
    }
    printf "%-6s %-6s %10d %9.0f %29s %8d %8d %12d %8d\n", $4, $3, $15, $5, $9 "/" $10 "/" $11 "/" $12, $13, $22, $23, $24
    req[$3] += $15; sock[$3] += $9 + $10 + $11 + $12; st[$3] += $13; sent[$3] += $22; done[$3] += $23
}
END {
    if (!hdr) exit
    printf "total: ours %d requests, %d socket errors, %d non-2xx, %d reloads (%d carried out);\n", req["ours"], sock["ours"], st["ours"], sent["ours"], done["ours"]
    printf "       nginx %d requests, %d socket errors, %d non-2xx, %d reloads (%d carried out)\n", req["nginx"], sock["nginx"], st["nginx"], sent["nginx"], done["nginx"]
    printf "workers: most worker processes seen in the round, sampled every 0.5 s (draining generations included)\n"
}' "$out/results.csv" | tee -a "$out/summary.txt"

# The chart: ratios per scenario, a line at 1.0.
awk -F, 'NR > 1 && $6 != "" && $1 != 7 {
    lab = $1 == 1 ? "1 keep-alive 1KiB" : $1 == 2 ? "2 close 1KiB" : $1 == 3 ? "3 keep-alive 1MiB" : \
          $1 == 4 ? "4 c5000 1KiB" : $1 == 5 ? "5 idle KiB/conn (lower=better)" : \
          $1 == 8 ? "8 HTTPS keep-alive 1KiB" : $1 == 9 ? "9 HTTPS close full hs" : $1 == 10 ? "10 HTTPS close resumed" : "6 /welcome vs ours #1"
    color = $1 == 5 ? "0xdd8844" : $1 == 6 ? "0x999999" : "0x4477aa"
    printf "\"%s\" %s %s\n", lab, $6, color
}' "$out/summary.csv" >"$out/chart.dat"
nbars=$(wc -l <"$out/chart.dat")
term="pngcairo size 1000,560 font ',10'"
gnuplot -e 'set terminal' 2>&1 | grep -q pngcairo || term="png size 1000,560"
if [ "$only_reload" -eq 1 ] || [ "$only_tls" -eq 1 ] || [ "$only_scrape" -eq 1 ]; then
    : # one or two scenarios: the table says it all
elif [ "$nbars" -eq 0 ]; then
    note "no ratios to plot"
elif ! gnuplot >"$out/gnuplot.log" 2>&1 <<EOF
set terminal $term
set output "$out/ratios.png"
set title "webserver / nginx, $procs processes each: median of per-pair ratios ($pairs pairs, ${duration}s runs)\nabove 1.0: ours faster, except scenario 5 (orange: memory per idle connection, below 1.0 = ours uses less); 6 (grey): ours vs ours"
set style fill solid 0.85 border -1
set boxwidth 0.6
set xrange [-0.6:$((nbars - 1)).6]
set yrange [0:*]
set ylabel "ratio ours / nginx"
set grid ytics
set key off
set xtics rotate by -20 offset -1,0 scale 0
set arrow 1 from graph 0, first 1.0 to graph 1, first 1.0 nohead back lc rgb "#cc0000" lw 2 dt 2
set style textbox opaque noborder
plot "$out/chart.dat" using 0:2:3:xtic(1) with boxes lc rgb variable, \
     "" using 0:2:(sprintf("%.2f", \$2)) with labels boxed offset 0,0.8 notitle
EOF
then
    note "gnuplot failed, see $out/gnuplot.log"
fi

if [ "$only_reload" -eq 1 ] || [ "$only_tls" -eq 1 ] || [ "$only_scrape" -eq 1 ]; then
    echo "results: $out/results.csv  summary: $out/summary.csv"
else
    echo "results: $out/results.csv  summary: $out/summary.csv  chart: $out/ratios.png"
fi
if [ ${#anomalies[@]} -gt 0 ]; then
    echo "PROBLEMS:"
    printf '  %s\n' "${anomalies[@]}"
    exit 3
fi
exit 0
