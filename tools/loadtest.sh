#!/usr/bin/env bash
# tools/loadtest.sh - wrk against this server and against peer servers
# (nginx, lighttpd, h2o): same files, same worker count, same machine. Runs
# go in rounds: every round runs each server once, and the order rotates
# from round to round (round r starts at server r mod N), so drift cancels.
# Per scenario the best peer is the one with the highest median rate (for
# idle memory, the lowest); ours / best peer is the median of the
# per-round ratios against that peer. A minimal epoll server
# (tools/loadtest/minimal.c) is the limit the 1 KiB scenarios are
# measured against.
#
# usage: tools/loadtest.sh [--quick] [--peers LIST] [--processes N]
#                          [--duration S] [--rounds N] [--idle-conns N]
#                          [--nginx-no-reuseport] [--syscalls]
#                          [--reload] [--reload-rounds N] [--reload-duration S]
#                          [--reload-interval S] [--tls] [--scrape] [--out DIR]
#
#   --peers LIST   comma-separated peers from nginx, lighttpd, h2o
#                  (default: all three); missing ones are installed with
#                  apt-get (tools/deps.sh, WEBSERVER_PKGS_LOADTEST)
#   --quick        2 rounds of 2 s runs, scenario 7 in 2 rounds of 10 s,
#                  no scenario 12 (its 10000 clients alone would add a
#                  minute): about 5 minutes with all peers; the smoke test
#                  of tests/bench
#   --rounds N     rounds per scenario (default 5, --quick 2); --pairs is
#                  the old name and still accepted
#   --syscalls     also, in a full run after scenario 5: for scenarios 1, 2
#                  and 4 on every server of them, strace -c -f attached by
#                  pid to each process of the server's tree while wrk runs
#                  min(duration, 5) s; calls of each syscall / requests
#                  wrk counted meanwhile, to syscalls.txt (not recorded as
#                  measurements: strace slows every server down)
#
# Scenarios (servers: A = ours, peers and minimal; P = ours and peers)
#   1  keep-alive, 1 KiB page, 100 connections (A)        requests/s
#   2  "Connection: close", 1 KiB page, 100 connections (A)
#                                                         requests/s
#   3  keep-alive, 1 MiB file, 20 connections (P)         bytes/s
#   4  keep-alive, 1 KiB page, 5000 connections (A)       requests/s, errors must be 0
#   5  10000 idle keep-alive connections (P)              server RSS KiB per connection
#   6  GET /welcome with a valid session cookie (ours only, Redis)
#                                                         ratio to an ours run of scenario 1
#   7  keep-alive, 1 KiB page, 50 connections, 20 s, while the script sends
#      SIGHUP to the server's master every 2 s (graceful reload); ours and
#      nginx only (if nginx is a selected peer)
#                                                         requests, socket errors and
#                                                         non-2xx (must be 0 for ours),
#                                                         reloads sent and carried out
#   8  HTTPS keep-alive, 1 KiB page, 100 connections      requests/s
#   9  HTTPS "Connection: close", 1 KiB page, 100 connections: a new TLS
#      connection with a full handshake per request        requests/s
#  10  as 9, but wrk resumes the session (TLS 1.3 ticket)  requests/s
#      (8 to 10: ours and every selected peer; all three speak TLS here)
#  11  (--scrape only) scenario 1 on our server while a client fetches
#      GET /metrics once a second, paired with scenario 1 without it
#                                                         ratio scraped / plain,
#                                                         and CPU per request of each
#  12  "Connection: close", 1 KiB page, 10000 concurrent clients (wrk
#      -c10000): a new connection per request at the largest concurrency
#      the open-file limit allows (A); full run only, at least 4 s a run
#                                                         requests/s, errors (ours must have 0)
#   Every scenario also reports the servers' CPU time per request: user +
#   system microseconds of the whole process tree of each server (master,
#   workers, helpers such as h2o's neverbleed process; threads count
#   within their process) over the run, divided by the requests wrk
#   counted (the clock-tick resolution is 10 ms). In scenarios 1, 2, 4 and
#   12 every server's rate (median of per-round ratios) and CPU per request
#   (ratio of the medians) are also given as a percentage of the minimal
#   server's. A full run goes 1, 2, 3, 4, 12, 5, (--syscalls), 6, 8, 9,
#   10, 7.
#
# The minimal server: N forked processes (N = --processes), each with its
# own SO_REUSEPORT listen socket and epoll loop; a fixed 1 KiB "200 OK"
# (the same index.html bytes) with Content-Length; one recv and one send per
# request; "Connection: close" in a request is answered with it and the
# connection closed. No parser, no files, no timers, no logs: what is left
# is the kernel's cost of the connection and the two system calls, which is
# what no real server can go below.
#
# --tls runs only scenarios 8 to 10 (about 8 minutes with 5 rounds and
# all peers); the full run has them before scenario 7. All servers use one
# self-signed EC P-256 certificate for localhost made with openssl under
# OUT/tls/; nginx: "listen ... ssl", ssl_protocols TLSv1.2 TLSv1.3,
# ssl_session_tickets on (its default ssl_session_cache none); lighttpd:
# mod_openssl on a second $SERVER["socket"] (its defaults: TLS 1.2 and
# 1.3, session tickets on); h2o: "listen: ssl:" with minimum-version
# TLSv1.2, OCSP stapling off (a self-signed certificate has no responder),
# its default session resumption (tickets and cache); ciphers and groups
# left at the defaults everywhere (env.txt names what each negotiates, and
# whether an openssl s_client -sess_out/-sess_in pair resumes on each). wrk 4.1 DOES
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
# check as a problem. That check needs nginx among the peers; without it
# the script says so and goes on. Each TLS server must resume the
# s_client session (else scenario 10 would not measure resumption on it):
# one that does not is a problem.
#
# --scrape runs only scenario 11, on our server alone (no peers): in each
# round, scenario 1 as it is ("ours-plain") and with a scraper ("ours"), in
# turn first and second:
# a loop that runs curl on /metrics every second, started by the script
# and stopped by its pid; every scrape must answer 200. The scrape's own
# cost is in the server CPU per request of the scraped run. About 2 minutes
# with 5 rounds of 10 s runs.
#
# --reload runs only scenario 7 (3 rounds of 20 s per server, about 2
# minutes); the full run ends with it. Its rounds are --reload-rounds
# (default 3, --quick 2; at least 1), not --rounds; --quick makes them
# 10 s long.
# The peer here is nginx only (it reloads the way ours does, by HUP to a
# master); without nginx among the peers scenario 7 runs ours alone.
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
# - all servers serve one generated document root, with the same number of
#   worker processes (default 2), access logs off, keep-alive 60s and
#   100000 requests per connection, listen backlog 4096 where settable,
#   loopback only, started in the foreground by this script;
# - nginx: sendfile on, tcp_nopush on, tcp_nodelay on, open_file_cache off
#   (we keep no descriptor cache either), worker_connections 20000 (or the
#   fd limit), "listen ... reuseport": each worker gets its own accept queue.
#   Without reuseport a burst of new connections (wrk opens all of them at
#   once) tends to land on one nginx worker and leaves the other idle, while
#   our master spreads connections over the least-loaded worker; reuseport
#   is what an operator would set for this load. --nginx-no-reuseport
#   measures nginx's default instead;
# - lighttpd 1.4: server.max-worker N (a master forks N workers that share
#   one listen socket), server.network-backend "sendfile",
#   server.listen-backlog 4096, max-keep-alive-idle 60,
#   max-keep-alive-requests 100000, max-fds = the fd limit and
#   max-connections half of it (lighttpd's own ceiling), no mod_accesslog;
# - h2o 2.2: num-threads N (threads in one process; a private-key helper
#   process, neverbleed, does the TLS signatures), max-connections 20000,
#   http1-request-timeout 60 (its keep-alive idle time), no access-log;
#   h2o 2.2 has no sendfile (it reads files into buffers), no per-connection
#   request limit and no backlog setting (it listens with its own large one);
#   run as root it switches to nobody, so its private folder belongs to nobody;
# - the minimal server: see above; it is a limit, not a peer;
# - wrk runs with -t2 on the same 2 cores as the server under test (nothing
#   is pinned): a ratio compares servers under the same shared budget, an
#   absolute figure is lower than on a separate load generator.
#
# Never touches a system nginx, lighttpd, h2o or redis: each runs from its
# own directory with its own config, pid file, logs and ports on 127.0.0.1,
# in the foreground as a child of this script; only the processes this
# script started (and their children) are stopped, by pid, also on error
# (trap), never by name.
#
# Output (default out/loadtest-YYYYmmdd-HHMMSS/): results.csv (one row per
# run, with its round and cpu_us_per_req; scenario 7 rows also fill
# reloads_sent, reloads_done, max_workers), summary.csv (one row per
# scenario and server: median value, p50/p99, CPU per request, errors, the
# best peer, ratio to it with range, CPU ratio to it, percentages of the
# minimal server), summary.txt (the tables), ratios.png (each server's rate
# per scenario normalised to the best peer; not with --reload, --tls or
# --scrape), syscalls.txt (--syscalls), env.txt, raw/ (wrk outputs), the
# servers' error logs and configs.
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
rounds=""
peers_arg="nginx,lighttpd,h2o"
syscalls=0
idle_conns=""
out=""
reuseport=" reuseport"
only_reload=0
only_tls=0
only_scrape=0
reload_rounds=""
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
    --rounds|--pairs) [ $# -ge 2 ] || die "$1 needs a value"; rounds=$2; shift ;;
    --peers) [ $# -ge 2 ] || die "--peers needs a value"; peers_arg=$2; shift ;;
    --syscalls) syscalls=1 ;;
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
    : "${duration:=2}" "${rounds:=2}" "${idle_conns:=10000}" "${reload_duration:=10}"
    : "${reload_rounds:=2}"
else
    : "${duration:=10}" "${rounds:=5}" "${idle_conns:=10000}" "${reload_duration:=20}"
    : "${reload_rounds:=3}"
fi
for v in procs duration rounds idle_conns reload_rounds reload_duration reload_interval; do
    [[ ${!v} =~ ^[0-9]+$ ]] && [ "${!v}" -ge 1 ] \
        || die "--${v//_/-} must be a positive integer, got \"${!v}\""
done
[ "$rounds" -ge 2 ] || die "--rounds must be at least 2 (ratios are medians of rounds)"
# The peers, in a fixed order (the rounds rotate it); duplicates dropped.
peers=()
IFS=, read -r -a _p <<<"$peers_arg"
for _x in "${_p[@]}"; do
    case "$_x" in
    nginx|lighttpd|h2o) [[ " ${peers[*]} " == *" $_x "* ]] || peers+=("$_x") ;;
    "") ;;
    *) die "--peers: unknown peer \"$_x\" (known: nginx, lighttpd, h2o)" ;;
    esac
done
[ ${#peers[@]} -ge 1 ] || [ "$only_scrape" -eq 1 ] || die "--peers needs at least one of nginx, lighttpd, h2o"
has_peer() { [[ " ${peers[*]} " == *" $1 "* ]]; }
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
# Per server (ours, nginx, lighttpd, h2o, minimal): the pid we started, the
# HTTP and HTTPS ports, the error log, and its worker set (pids of the
# direct children, to notice a worker that died and was respawned).
declare -A spid=() sport=() stls=() slog=() sworkers=()
redis_pid="" helper_pid="" scraper_pid=""
tmp=""

# Parent pid of $1 from /proc (0 if gone); comm may hold spaces and parens.
ppid_of() {
    local line rest
    { read -r line <"/proc/$1/stat"; } 2>/dev/null || { echo 0; return 0; }
    rest=${line##*) }; rest=${rest#* }
    echo "${rest%% *}"
}

# Every descendant of $1 (children, their children, ...), one pass over /proc.
descendants_of() {
    local f line rest pid queue p
    local -A kids=()
    for f in /proc/[0-9]*/stat; do
        { read -r line <"$f"; } 2>/dev/null || continue
        rest=${line##*) }; rest=${rest#* }
        pid=${f#/proc/}; pid=${pid%/stat}
        kids[${rest%% *}]+=" $pid"
    done
    queue=${kids[$1]:-}
    while [ -n "${queue// /}" ]; do
        set -- $queue
        p=$1; shift; queue="$*"
        echo "$p"
        queue="$queue ${kids[$p]:-}"
    done
    return 0
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

# Stop pid $1 (and the descendants it had): TERM, bounded wait, then KILL.
# A descendant is only killed if it still runs the executable it ran when
# we looked (so never a reused pid).
stop_pid() {
    local pid=$1 k i
    local -A kexe=()
    unset "started[$pid]"
    alive "$pid" || { wait "$pid" 2>/dev/null || true; return 0; }
    for k in $(descendants_of "$pid"); do
        kexe[$k]=$(readlink "/proc/$k/exe" 2>/dev/null || true)
    done
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
    for k in "${!kexe[@]}"; do
        for i in $(seq 1 50); do alive "$k" || break; sleep 0.1; done
        if alive "$k" && [ -n "${kexe[$k]}" ] \
            && [ "$(readlink "/proc/$k/exe" 2>/dev/null)" = "${kexe[$k]}" ]; then
            note "descendant $k of $pid still runs, killing it"
            kill -KILL "$k" 2>/dev/null || true
        fi
    done
    return 0
}

cleanup() {
    local rc=$? p
    trap - EXIT INT TERM
    for p in "$helper_pid" "$scraper_pid" "${spid[@]}" "$redis_pid"; do
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
if [ "$only_scrape" -eq 0 ]; then
    if has_peer nginx; then have nginx || [ -x /usr/sbin/nginx ] || missing+=(nginx); fi
    if has_peer lighttpd && [ "$only_reload" -eq 0 ]; then
        have lighttpd || [ -x /usr/sbin/lighttpd ] || missing+=(lighttpd)
        # its TLS module is a package of its own
        [ -e /usr/lib/lighttpd/mod_openssl.so ] || missing+=(lighttpd-mod-openssl)
    fi
    if has_peer h2o && [ "$only_reload" -eq 0 ]; then
        have h2o || [ -x /usr/bin/h2o ] || missing+=(h2o)
    fi
fi
[ "$syscalls" -eq 0 ] || have strace || missing+=(strace)
[ "$only_reload" -eq 1 ] || [ "$only_tls" -eq 1 ] || [ "$only_scrape" -eq 1 ] \
    || have gnuplot || missing+=(gnuplot-nox)
have curl || missing+=(curl)
have openssl || missing+=(openssl)
have cc || missing+=(build-essential)
# The nginx, lighttpd and h2o packages may start a system instance through
# their postinst (unless policy-rc.d forbids it); we never touch those.
[ ${#missing[@]} -eq 0 ] || install_pkgs "${missing[@]}"
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
lighttpd_bin=$(command -v lighttpd || echo /usr/sbin/lighttpd)
h2o_bin=$(command -v h2o || echo /usr/bin/h2o)

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
# scenario 12: wrk holds one descriptor per client, plus a few of its own
many_conns=10000
if [ "$many_conns" -gt $((nofile - 200)) ]; then
    many_conns=$((nofile - 200))
    note "scenario 12 reduced to $many_conns clients by the open file limit"
fi

tmp=$(mktemp -d /tmp/loadtest.XXXXXX) || die "mktemp failed"
chmod 755 "$tmp"      # nginx workers run as nobody and must read the root

if [ "$only_reload" -eq 0 ] && [ "$only_tls" -eq 0 ] && [ "$only_scrape" -eq 0 ]; then
    cc -O2 -Wall -o "$out/idle_conns" "$here/idle_conns.c" 2>"$out/idle_conns.build.log" \
        || { cat "$out/idle_conns.build.log" >&2; die "cannot compile $here/idle_conns.c"; }
    cc -O2 -Wall -o "$out/minimal" "$here/minimal.c" 2>"$out/minimal.build.log" \
        || { cat "$out/minimal.build.log" >&2; die "cannot compile $here/minimal.c"; }
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

# ---- The certificate (all servers): self-signed, EC P-256 ----

tlsdir="$out/tls"
mkdir -p "$tlsdir"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
    -keyout "$tlsdir/key.pem" -out "$tlsdir/cert.pem" -days 30 -nodes \
    -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
    >"$tlsdir/openssl.log" 2>&1 || { cat "$tlsdir/openssl.log" >&2; die "openssl req failed"; }
chmod 644 "$tlsdir/cert.pem" "$tlsdir/key.pem"   # h2o reads them as nobody

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

ours_conf="$out/webserver.conf"
write_ours_conf() {
    cat >"$ours_conf" <<EOC
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
EOC
    "$bin" -t -c "$ours_conf" >/dev/null 2>"$tmp/conf-check" \
        || { cat "$tmp/conf-check" >&2; die "our server rejects $ours_conf"; }
}

start_ours() {
    local i pid
    rm -f "$tmp/webserver.port" "$tmp/webserver.tls-port"
    slog[ours]="$out/webserver-error.log"
    "$bin" -c "$ours_conf" </dev/null >>"$out/webserver-stdout.log" 2>&1 &
    pid=$!; started[$pid]=1; spid[ours]=$pid
    for i in $(seq 1 100); do
        [ -s "$tmp/webserver.port" ] && [ -s "$tmp/webserver.tls-port" ] && break
        alive "$pid" || break
        sleep 0.1
    done
    [ -s "$tmp/webserver.port" ] || {
        tail -n 20 "$out/webserver-error.log" "$out/webserver-stdout.log" >&2 || true
        die "our server did not start (no port_file within 10s)"
    }
    [ -s "$tmp/webserver.tls-port" ] || die "our server wrote no tls_port_file within 10s"
    sport[ours]=$(tr -dc 0-9 <"$tmp/webserver.port")
    stls[ours]=$(tr -dc 0-9 <"$tmp/webserver.tls-port")
    wait_http ours
    wait_https ours
}

# ---- Peers: each from its own folder, in the foreground, by pid ----

# Ports for server $1: an HTTP one, an HTTPS one, and for nginx the port of
# the TLS resumption check; all different.
pick_ports() {
    local a b c
    for _ in 1 2 3 4 5; do
        a=$(pick_port); b=$(pick_port); c=$(pick_port)
        if [ "$a" != "$b" ] && [ "$a" != "$c" ] && [ "$b" != "$c" ]; then
            sport[$1]=$a; stls[$1]=$b
            # only nginx has the check port; another server's (re)start
            # must not move it away from the nginx that listens on it
            [ "$1" != nginx ] || nginx_check_port=$c
            return 0
        fi
    done
    die "could not pick distinct ports for $1"
}

nginx_check_port=""
nginx_dir="$tmp/nginx"
write_nginx_conf() {
    mkdir -p "$nginx_dir/temp"
    cat >"$nginx_dir/nginx.conf" <<EOC
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
        listen 127.0.0.1:${sport[nginx]} backlog=4096$reuseport;
        listen 127.0.0.1:${stls[nginx]} ssl backlog=4096$reuseport;
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
EOC
    cp "$nginx_dir/nginx.conf" "$out/nginx.conf"
}
launch_nginx() {
    write_nginx_conf
    setsid "$nginx_bin" -p "$nginx_dir" -e "$out/nginx-error.log" -c "$nginx_dir/nginx.conf" \
        </dev/null >>"$out/nginx-stdout.log" 2>&1 &
    launched=$!
}

# lighttpd 1.4: -D keeps it in the foreground; with server.max-worker the
# process we start forks the workers and stays their master. On SIGTERM
# that master signals its whole process group, hence setsid (which execs
# in place here: a background job of this script leads no group, so $! is
# lighttpd's pid); the peers all get a session of their own that way.
lighttpd_dir="$tmp/lighttpd"
launch_lighttpd() {
    mkdir -p "$lighttpd_dir"
    cat >"$lighttpd_dir/lighttpd.conf" <<EOC
# written by tools/loadtest.sh; a private instance, not the system lighttpd
server.modules = ( "mod_openssl" )
server.document-root = "$docroot"
server.bind = "127.0.0.1"
server.port = ${sport[lighttpd]}
server.pid-file = "$lighttpd_dir/lighttpd.pid"
server.errorlog = "$out/lighttpd-error.log"
server.max-worker = $procs
server.max-fds = $nofile
server.max-connections = $((nofile / 2 - 64))
server.listen-backlog = 4096
server.network-backend = "sendfile"
server.max-keep-alive-idle = 60
server.max-keep-alive-requests = 100000
index-file.names = ( "index.html" )
mimetype.assign = ( ".html" => "text/html", ".jpg" => "image/jpeg",
                    ".mp4" => "video/mp4", ".bin" => "application/octet-stream" )
\$SERVER["socket"] == "127.0.0.1:${stls[lighttpd]}" {
    ssl.engine = "enable"
    ssl.pemfile = "$tlsdir/cert.pem"
    ssl.privkey = "$tlsdir/key.pem"
}
EOC
    cp "$lighttpd_dir/lighttpd.conf" "$out/lighttpd.conf"
    setsid "$lighttpd_bin" -D -f "$lighttpd_dir/lighttpd.conf" \
        </dev/null >>"$out/lighttpd-stdout.log" 2>&1 &
    launched=$!
}

# h2o 2.2: in the foreground unless told otherwise; run as root it switches
# to nobody before it writes its pid file, so its folder is nobody's.
h2o_dir="$tmp/h2o"
launch_h2o() {
    mkdir -p "$h2o_dir"
    local owner=""
    [ "$(id -u)" -ne 0 ] || { chown nobody "$h2o_dir"; owner="user: nobody"; }
    cat >"$h2o_dir/h2o.conf" <<EOC
# written by tools/loadtest.sh; a private instance, not the system h2o
$owner
num-threads: $procs
max-connections: $worker_conns
http1-request-timeout: 60
pid-file: $h2o_dir/h2o.pid
error-log: $out/h2o-error.log
listen:
  host: 127.0.0.1
  port: ${sport[h2o]}
listen:
  host: 127.0.0.1
  port: ${stls[h2o]}
  ssl:
    certificate-file: $tlsdir/cert.pem
    key-file: $tlsdir/key.pem
    minimum-version: TLSv1.2
    ocsp-update-interval: 0
hosts:
  default:
    paths:
      /:
        file.dir: $docroot
        file.index: [ 'index.html' ]
EOC
    cp "$h2o_dir/h2o.conf" "$out/h2o.conf"
    setsid "$h2o_bin" -c "$h2o_dir/h2o.conf" </dev/null >>"$out/h2o-stdout.log" 2>&1 &
    launched=$!
}

launch_minimal() {
    "$out/minimal" "${sport[minimal]}" "$procs" "$docroot/index.html" \
        </dev/null >>"$out/minimal-stderr.log" 2>&1 &
    launched=$!
}

# Start peer (or minimal) $1 on fresh ports; a port taken meanwhile by
# someone else makes it try again with new ones (three times).
start_peer() {
    local srv=$1 i pid
    slog[$srv]="$out/$srv-error.log"
    [ "$srv" != minimal ] || slog[$srv]="$out/minimal-stderr.log"
    for _ in 1 2 3; do
        pick_ports "$srv"
        : >>"${slog[$srv]}"
        launched=""
        "launch_$srv"
        pid=$launched; started[$pid]=1; spid[$srv]=$pid
        for i in $(seq 1 100); do
            alive "$pid" || break
            [ "$(http_status "http://127.0.0.1:${sport[$srv]}/index.html")" = 200 ] && break
            sleep 0.1
        done
        if alive "$pid"; then
            wait_http "$srv"
            [ "$srv" = minimal ] || wait_https "$srv"
            return 0
        fi
        wait "$pid" 2>/dev/null || true
        unset "started[$pid]" "spid[$srv]"
        grep -qi "address already in use" "${slog[$srv]}" "$out/$srv-stdout.log" \
            2>/dev/null || break
    done
    tail -n 20 "${slog[$srv]}" "$out/$srv-stdout.log" >&2 2>/dev/null || true
    die "$srv did not start (see ${slog[$srv]})"
}

start_server() { if [ "$1" = ours ]; then start_ours; else start_peer "$1"; fi; }

# Worker processes server $1 must show before it counts as started: h2o's
# workers are threads (its one child process is the TLS key helper).
want_workers() { case $1 in h2o) echo 0 ;; *) echo "$procs" ;; esac; }

# Wait (bounded) until server $1 answers 200 on /index.html and has its
# workers; then remember its worker set.
wait_http() {
    local srv=$1 pid=${spid[$1]} port=${sport[$1]} i
    for i in $(seq 1 100); do
        alive "$pid" || break
        if [ "$(http_status "http://127.0.0.1:$port/index.html")" = 200 ] \
            && [ "$(children_of "$pid" | wc -l)" -ge "$(want_workers "$srv")" ]; then
            sworkers[$srv]=$(children_of "$pid" | sort -n | tr '\n' ' ')
            return 0
        fi
        sleep 0.1
    done
    die "$srv (pid $pid) does not answer on 127.0.0.1:$port within 10s"
}

# Wait (bounded) until server $1 answers 200 on https://localhost:PORT/index.html.
wait_https() {
    local srv=$1 pid=${spid[$1]} port=${stls[$1]} i
    for i in $(seq 1 100); do
        alive "$pid" || break
        [ "$(http_status --cacert "$tlsdir/cert.pem" --resolve "localhost:$port:127.0.0.1" \
             "https://localhost:$port/index.html")" = 200 ] && return 0
        sleep 0.1
    done
    die "$srv (pid $pid) does not answer HTTPS on 127.0.0.1:$port within 10s"
}

stop_server() {
    local pid=${spid[$1]:-}
    [ -z "$pid" ] || stop_pid "$pid"
    unset "spid[$1]"
}

port_of() { echo "${sport[$1]}"; }
tls_port_of() { echo "${stls[$1]}"; }
pid_of() { echo "${spid[$1]}"; }
log_of() { echo "${slog[$1]}"; }

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
    before=${sworkers[$srv]}
    if [ "$now" != "$before" ]; then
        anomaly "$srv: worker set changed during $what ($before-> $now); see $(log_of "$srv")"
        tail -n 10 "$(log_of "$srv")" >&2 || true
        sworkers[$srv]=$now
    fi
}

# Sum of VmRSS (KiB) over the process tree of $1 (master and workers; h2o
# keeps its worker threads in the master process itself).
workers_rss() {
    local k sum=0 v
    for k in "$1" $(descendants_of "$1"); do
        v=$(awk '/^VmRSS:/{print $2}' "/proc/$k/status" 2>/dev/null || true)
        sum=$((sum + ${v:-0}))
    done
    echo "$sum"
}

# user+system clock ticks of the process tree of $1 (master, workers, their
# children; all threads of each), including children that exited and were
# reaped (the master's cutime/cstime): a reload's old generation keeps
# counting after it is gone.
server_ticks() {
    local p line rest sum=0
    local -a f
    for p in "$1" $(descendants_of "$1"); do
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

# Who runs where: A = ours, the peers and the minimal server (1 KiB
# scenarios 1, 2, 4, 12); P = ours and the peers (3, 5, 8-10); scenario 7:
# ours and nginx.
srv_all=(ours "${peers[@]}" minimal)
srv_peers=(ours "${peers[@]}")
srv_reload=(ours)
has_peer nginx && srv_reload+=(nginx)

# The servers of list "$2..." in the order of round $1: the list rotated so
# that it starts at element (round mod N); over N rounds every server is
# once in every position.
rotated() {
    local r=$1 n i
    shift
    n=$#
    local -a l=("$@")
    for ((i = 0; i < n; i++)); do echo "${l[$(((r + i) % n))]}"; done
}

csv_header="scenario,name,server,round,requests_per_s,bytes_per_s,p50_ms,p99_ms,errors_connect,errors_read,errors_write,errors_timeout,errors_non2xx,errors_total,requests,duration_s,conns,rss_before_kib,rss_after_kib,kib_per_conn,server_cpu_s,cpu_us_per_req,reloads_sent,reloads_done,max_workers"
if [ "$only_reload" -eq 1 ]; then
    total_runs=$((reload_rounds * ${#srv_reload[@]}))
elif [ "$only_scrape" -eq 1 ]; then
    total_runs=$((rounds * 2))
elif [ "$only_tls" -eq 1 ]; then
    total_runs=$((rounds * ${#srv_peers[@]} * 3))
else
    total_runs=$((rounds * (${#srv_all[@]} * (4 - quick) + ${#srv_peers[@]} * 5 + 2) \
                  + reload_rounds * ${#srv_reload[@]}))
fi
[ "$syscalls" -eq 0 ] || total_runs=$((total_runs + 3 * ${#srv_all[@]}))
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
    printf '[%3d/%d] %s\n' "$run_no" "$total_runs" "$*"
}

# One wrk measurement recorded as a results row.
# $1 scenario $2 name $3 server (ours|nginx|lighttpd|h2o|minimal|ours-static|
# ours-plain) $4 round $5 path $6 conns, rest: wrk args
measure_wrk() {
    local sc=$1 name=$2 srv=$3 round=$4 path=$5 conns=$6 target errs t0 cpu port cpr
    local dur=$duration
    shift 6
    # 10000 clients take a while to connect at all: at least 4 s there
    [ "$sc" -ne 12 ] || [ "$dur" -ge 4 ] || dur=4
    target=${srv%-static}
    target=${target%-plain}
    port=$(port_of "$target")
    if [ "$sc" -ge 8 ] && [ "$sc" -le 10 ]; then wrk_scheme=https; port=$(tls_port_of "$target"); fi
    [ "$sc" -ne 9 ] || wrk_preload=$no_resume
    t0=$(server_ticks "$(pid_of "$target")")
    wrk_run "s$sc-$srv-$round" "$port" "$path" "$conns" "$dur" "$@"
    wrk_scheme=http wrk_preload=""
    cpu=$(awk -v a="$(server_ticks "$(pid_of "$target")")" -v b="$t0" -v t="$clk_tck" \
          'BEGIN{printf "%.2f", (a - b) / t}')
    cpr=$(awk -v c="$cpu" -v n="$R_requests" 'BEGIN{if (n > 0) printf "%.1f", c * 1e6 / n}')
    check_server "$target" "scenario $sc round $round"
    echo "$sc,$name,$srv,$round,$R_rps,$R_bps,$R_p50,$R_p99,$R_econn,$R_eread,$R_ewrite,$R_etimeout,$R_estatus,$R_errors,$R_requests,$R_dur,$conns,,,,$cpu,$cpr,,," \
        >>"$out/results.csv.tmp"
    errs=""
    [ "$R_errors" -eq 0 ] || errs=" errors $R_errors (connect $R_econn read $R_eread write $R_ewrite timeout $R_etimeout non2xx $R_estatus)"
    if [ "$sc" -eq 3 ]; then
        progress "$(printf 's%s %-20s round %d %-11s %9.1f MiB/s  p50 %8.3fms  p99 %8.3fms  cpu %6.1f us/req%s' \
            "$sc" "$name" "$round" "$srv" "$(awk -v b="$R_bps" 'BEGIN{print b/1048576}')" \
            "$R_p50" "$R_p99" "${cpr:-0}" "$errs")"
    else
        progress "$(printf 's%s %-20s round %d %-11s %9.0f req/s  p50 %8.3fms  p99 %8.3fms  cpu %6.1f us/req%s' \
            "$sc" "$name" "$round" "$srv" "$R_rps" "$R_p50" "$R_p99" "${cpr:-0}" "$errs")"
    fi
    # errors: connection-level and >= 400 are failures of the server under
    # test; timeouts (10s) are load, reported but not a failure. Ours must
    # have none anywhere; in scenario 4 (keep-alive, every connection opened
    # once) no server may have any. Peers' errors in scenario 12 (10000
    # clients, a new connection per request) are reported, not failures.
    if [ $((R_econn + R_eread + R_ewrite + R_estatus)) -gt 0 ]; then
        if [ "$sc" -eq 4 ] || [ "$target" = ours ]; then
            anomaly "scenario $sc round $round $srv: connect $R_econn, read $R_eread, write $R_ewrite, non-2xx $R_estatus"
        fi
    fi
    [ "$R_requests" -gt 0 ] \
        || anomaly "scenario $sc round $round $srv: no request answered in ${dur}s (raw/s$sc-$srv-$round.txt)"
}

# Scenario 5 for one server: fresh start, RSS, N idle conns, RSS, stop.
measure_idle() {
    local srv=$1 round=$2 pid port before after ready ok failed kib i
    stop_server "$srv"; start_server "$srv"
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
    check_server "$srv" "scenario 5 round $round"
    stop_pid "$helper_pid"; helper_pid=""
    kib=$(awk -v a="$after" -v b="$before" -v n="$ok" 'BEGIN{printf "%.3f", (n > 0 ? (a - b) / n : 0)}')
    echo "5,idle-conns,$srv,$round,,,,,,,,,$failed,$failed,,,$ok,$before,$after,$kib,,,,," \
        >>"$out/results.csv.tmp"
    progress "$(printf 's5 %-20s round %d %-11s %9.2f KiB/conn  RSS %d -> %d KiB, %d conns%s' \
        idle-conns "$round" "$srv" "$kib" "$before" "$after" "$ok" \
        "$([ "$failed" -eq 0 ] || echo ", $failed FAILED")")"
    [ "$failed" -eq 0 ] || anomaly "scenario 5 round $round $srv: $failed of $idle_conns idle connections failed"
}

# Scenario $1 ($2 name, $3 path, $4 connections) over all rounds, each
# round the servers "${@:5}" in the rotated order.
run_rounds() {
    local sc=$1 name=$2 path=$3 conns=$4 round srv
    shift 4
    local -a servers=("$@") extra
    extra=()
    case $sc in 2|9|10|12) extra=(-H 'Connection: close') ;; esac
    for round in $(seq 1 "$rounds"); do
        for srv in $(rotated "$round" "${servers[@]}"); do
            measure_wrk "$sc" "$name" "$srv" "$round" "$path" "$conns" "${extra[@]}"
        done
    done
}

# ---- --syscalls: strace -c on every process of each server ----

# For scenario $1 ($2 name, $3 path, $4 conns, rest: wrk args): per server,
# strace -c -f attached by pid to each process of the server's tree (-f
# takes in the threads of each), then wrk for min(duration, 5) s, then
# strace is stopped (SIGINT, by its pid) and prints its counts. The
# requests are exactly wrk's; the window also holds wrk's connection
# set-up, which is part of each scenario anyway. Rows to syscalls.rows:
# scenario,server,syscall,calls,requests.
measure_syscalls() {
    local sc=$1 name=$2 path=$3 conns=$4 srv pid p win rc tags exe
    shift 4
    local -a spids
    win=$duration; [ "$win" -le 5 ] || win=5
    for srv in "${srv_all[@]}"; do
        pid=$(pid_of "$srv")
        exe=$(readlink "/proc/$pid/exe" 2>/dev/null || true)
        spids=(); tags=""
        for p in "$pid" $(descendants_of "$pid"); do
            # h2o's backtrace helper (perl) is not the server
            [ "$(readlink "/proc/$p/exe" 2>/dev/null)" = "$exe" ] || continue
            timeout -k 5 $((win + 60)) strace -c -f -q -p "$p" -o "$tmp/strace-$p.txt" \
                </dev/null >/dev/null 2>&1 &
            spids+=($!); started[$!]=1; tags="$tags $p"
        done
        sleep 1     # attached (strace -p returns to nothing to say so)
        wrk_run "syscalls-s$sc-$srv" "$(port_of "$srv")" "$path" "$conns" "$win" "$@"
        for p in "${spids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
        for p in "${spids[@]}"; do wait "$p" 2>/dev/null || true; unset "started[$p]"; done
        for p in $tags; do
            awk -v sc="$sc" -v srv="$srv" -v req="$R_requests" '
                $1 ~ /^[0-9.]+$/ && NF >= 5 { name = $NF; calls = $4
                    if (calls !~ /^[0-9]+$/ || name == "total") next
                    printf "%s,%s,%s,%s,%s\n", sc, srv, name, calls, req }' "$tmp/strace-$p.txt"
        done >>"$tmp/syscalls.rows"
        progress "$(printf 'syscalls s%s %-11s strace on %d process(es), %ds of wrk: %d requests' \
            "$sc" "$srv" "${#spids[@]}" "$win" "$R_requests")"
        check_server "$srv" "--syscalls scenario $sc"
    done
}

# syscalls.txt from the rows: per scenario, per server, calls per request of
# each syscall (summed over the server's processes), most frequent first.
write_syscalls_report() {
    [ -s "$tmp/syscalls.rows" ] || return 0
    {
        echo "system calls per request: strace -c -f attached by pid to every process of each"
        echo "server (threads included) while wrk runs; requests = what wrk counted meanwhile."
        echo "strace slows the servers down, so the rates are not comparable; calls per request"
        echo "are. The window includes wrk's connection set-up (scenario 4: 5000 connects)."
        echo "Scenarios: 1 keep-alive c100, 2 Connection: close c100, 4 keep-alive c5000."
        awk -F, '
            { k = $1 SUBSEP $2; calls[k, $3] += $4; req[k] = $5; tot[k] += $4
              if (!((k) in seen)) { seen[k] = 1; order[++n] = k } }
            END {
                for (i = 1; i <= n; i++) {
                    k = order[i]; split(k, a, SUBSEP)
                    printf "\nscenario %s, %s: %.2f syscalls per request (%d requests in the window)\n", a[1], a[2], (req[k] > 0 ? tot[k] / req[k] : 0), req[k]
                    m = 0
                    for (c in calls) { split(c, b, SUBSEP); if (b[1] SUBSEP b[2] == k) { m++; nm[m] = b[3]; v[m] = calls[c] } }
                    for (x = 2; x <= m; x++) { t = v[x]; tn = nm[x]; for (y = x - 1; y >= 1 && v[y] < t; y--) { v[y+1] = v[y]; nm[y+1] = nm[y] } v[y+1] = t; nm[y+1] = tn }
                    for (x = 1; x <= m && x <= 12; x++)
                        printf "  %-18s %8.3f per request  (%d calls)\n", nm[x], (req[k] > 0 ? v[x] / req[k] : 0), v[x]
                }
            }' "$tmp/syscalls.rows"
    } >"$out/syscalls.txt"
    { echo "scenario,server,syscall,calls,requests"; cat "$tmp/syscalls.rows"; } >"$out/syscalls.csv"
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
    sworkers[$srv]=$(children_of "$pid" | sort -n | tr '\n' ' ')
}

# Scenario 7 for server $1, round $2: wrk keep-alive, 50 connections, on
# /index.html in the background; meanwhile HUP to the master we started
# every reload_interval seconds, as long as wrk runs. Records the wrk
# figures, the reloads sent and the ones the server's log says it carried
# out, and the most worker processes seen (sampled every 0.5 s, so a
# generation that drains faster than that is rarely caught).
measure_reload() {
    local srv=$1 round=$2 pid port log pattern tag wrk_pid rc=0 t0 cpu
    local start next now nap sent=0 done_before done_n=0 n max_workers i errs cpr
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
    cpr=$(awk -v c="$cpu" -v n="$R_requests" 'BEGIN{if (n > 0) printf "%.1f", c * 1e6 / n}')
    echo "7,reload-keepalive-1k,$srv,$round,$R_rps,$R_bps,$R_p50,$R_p99,$R_econn,$R_eread,$R_ewrite,$R_etimeout,$R_estatus,$R_errors,$R_requests,$R_dur,50,,,,$cpu,$cpr,$sent,$done_n,$max_workers" \
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

# Does server $1 resume a TLS session? openssl s_client saves one and
# offers it on a second connection; prints "yes" or "no".
server_resumes() {
    local port=$(tls_port_of "$1") n
    local req=$'GET /index.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'
    rm -f "$tmp/resume-$1.sess"
    printf '%s' "$req" | timeout 10 openssl s_client -connect "127.0.0.1:$port" \
        -servername localhost -ign_eof -sess_out "$tmp/resume-$1.sess" >/dev/null 2>&1 || true
    n=$(printf '%s' "$req" | timeout 10 openssl s_client -connect "127.0.0.1:$port" \
        -servername localhost -ign_eof -sess_in "$tmp/resume-$1.sess" 2>/dev/null \
        | grep -c '^Reused' || true)
    [ "${n:-0}" -ge 1 ] && echo yes || echo no
}

run_tls_scenarios() {
    local srv r
    if has_peer nginx; then
        check_wrk_resumption
    else
        tls_resume_note="not checked: the check reads nginx's access log and nginx is not among the peers"
        note "TLS resumption check of wrk skipped (needs nginx among the peers)"
    fi
    tls_server_resumes=""
    for srv in "${srv_peers[@]}"; do
        r=$(server_resumes "$srv")
        tls_server_resumes="$tls_server_resumes $srv=$r"
        [ "$r" = yes ] || anomaly "TLS: $srv does not resume an openssl s_client session; scenario 10 would not measure resumption on it"
    done
    note "TLS: openssl s_client -sess_in resumed on:$tls_server_resumes"
    # warm-up (not recorded)
    for srv in "${srv_peers[@]}"; do
        wrk_scheme=https
        wrk_run "warmup-tls-$srv" "$(tls_port_of "$srv")" /index.html 100 1
        wrk_scheme=http
        check_server "$srv" "TLS warm-up"
    done
    run_rounds 8 tls-keepalive-1k /index.html 100 "${srv_peers[@]}"
    run_rounds 9 tls-close-full-1k /index.html 100 "${srv_peers[@]}"
    run_rounds 10 tls-close-resumed-1k /index.html 100 "${srv_peers[@]}"
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
    [ -z "$s6_note" ] || total_runs=$((total_runs - rounds * 2))
fi
write_ours_conf
start_ours
# the servers started for this run: every selected peer (scenario 7 needs
# only nginx), and the minimal server for the full run
if [ "$only_scrape" -eq 1 ]; then
    servers=(ours)
elif [ "$only_reload" -eq 1 ]; then
    servers=("${srv_reload[@]}")
elif [ "$only_tls" -eq 1 ]; then
    servers=("${srv_peers[@]}")
else
    servers=("${srv_all[@]}")
fi
for srv in "${servers[@]}"; do
    [ "$srv" = ours ] || start_peer "$srv"
done

# All serve the same bytes: status and Content-Length of every file (the
# minimal server only has its one answer).
for path in "${!fsize[@]}"; do
    for srv in "${servers[@]}"; do
        [ "$srv" != minimal ] || [ "$path" = /index.html ] || continue
        got=$(curl -s -o /dev/null -w '%{http_code} %{size_download}' --max-time 30 \
              "http://127.0.0.1:$(port_of "$srv")$path" || true)
        [ "$got" = "200 ${fsize[$path]}" ] \
            || die "$srv: GET $path gave \"$got\", expected \"200 ${fsize[$path]}\""
    done
done
for srv in "${servers[@]}"; do
    [ "$srv" != minimal ] || continue
    port=$(tls_port_of "$srv")
    got=$(curl -s -o /dev/null -w '%{http_code} %{size_download}' --max-time 30 \
          --cacert "$tlsdir/cert.pem" --resolve "localhost:$port:127.0.0.1" \
          "https://localhost:$port/index.html" || true)
    [ "$got" = "200 1024" ] || die "$srv: GET https://localhost:$port/index.html gave \"$got\""
done

peer_list=$(IFS=,; echo "${servers[*]}" | sed 's/^ours,\{0,1\}//')
{
    echo "date: $(date -Is)"
    echo "command: tools/loadtest.sh $args"
    echo "git: $(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$top" diff --quiet 2>/dev/null || echo ' (dirty)')"
    echo "webserver: $("$bin" -V 2>&1) ($build_note) $bin"
    for srv in "${servers[@]}"; do
        case $srv in
        nginx) echo "nginx: $("$nginx_bin" -v 2>&1 | sed 's/^nginx version: //') $nginx_bin" ;;
        lighttpd) echo "lighttpd: $("$lighttpd_bin" -v 2>&1 | head -n 1) $lighttpd_bin" ;;
        h2o) echo "h2o: $("$h2o_bin" -v 2>&1 | head -n 1 | sed 's/^h2o version //') ($("$h2o_bin" -v 2>&1 | sed -n 's/^OpenSSL: //p')) $h2o_bin" ;;
        minimal) echo "minimal: tools/loadtest/minimal.c, cc -O2 ($(cc --version | head -n 1))" ;;
        esac
    done
    echo "servers: ${servers[*]}; rounds rotate the order (round r starts at server r mod N)"
    echo "wrk: $(wrk -v 2>&1 | head -n 1 | awk '{print $2}')"
    echo "redis: $(have "$redis_server" && "$redis_server" --version | awk '{print $3}' || echo none)"
    echo "cpus: $(nproc) ($(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'))"
    echo "kernel: $(uname -r)"
    echo "processes: $procs per server; wrk -t2 on the same cores (not pinned)"
    if [ "$only_reload" -eq 0 ]; then
        echo "rounds: $rounds; duration: ${duration}s per run; idle connections: $idle_conns; scenario 12 clients: $many_conns"
    fi
    if [ "$only_reload" -eq 0 ] && [ "$only_scrape" -eq 0 ]; then
        echo "openssl: $(openssl version) (command line)"
        has_peer nginx && echo "nginx built with: $("$nginx_bin" -V 2>&1 | sed -n 's/^built with //p')"
        echo "tls: one self-signed EC P-256 certificate ($tlsdir/cert.pem); nginx: ssl_protocols TLSv1.2 TLSv1.3, ssl_session_tickets on, ssl_session_cache default (none); lighttpd: mod_openssl defaults; h2o: minimum-version TLSv1.2, OCSP stapling off, default resumption; ours: tls_protocols TLSv1.2 TLSv1.3; default ciphers everywhere"
        printf 'tls negotiated by openssl s_client:'
        for srv in "${servers[@]}"; do
            [ "$srv" = minimal ] || printf ' %s %s;' "$srv" "$(tls_negotiated "$(tls_port_of "$srv")")"
        done
        echo
    fi
    [ "$only_scrape" -eq 0 ] || echo "scenario 11: scenario 1 of ours, plain and with curl on /metrics every 1 s (the scraper), alternating; no peers"
    [ "$only_tls" -eq 1 ] || [ "$only_scrape" -eq 1 ] || echo "scenario 7: $reload_rounds rounds of ${reload_duration}s per server (${srv_reload[*]}), wrk -c50, HUP to the master every ${reload_interval}s by pid (nginx too: kill -HUP, not nginx -s)"
    echo "open files limit: $nofile; worker_connections / max_connections: $worker_conns (lighttpd: max-fds $nofile, max-connections $((nofile / 2 - 64)))"
    echo "all: access log off, keep-alive 60s, 100000 requests per connection (h2o: no limit), backlog 4096 (h2o: its own)"
    echo "wrk: -t2 --latency --timeout 10s; timeouts are reported, not counted as failures (scenario 7: any error of ours is one)"
    has_peer nginx && echo "nginx: sendfile on, tcp_nopush on, tcp_nodelay on, open_file_cache off, listen${reuseport:- without reuseport}"
    has_peer lighttpd && echo "lighttpd: server.max-worker $procs, network-backend sendfile, listen-backlog 4096, keep-alive idle 60 s / 100000 requests"
    has_peer h2o && echo "h2o: num-threads $procs, max-connections $worker_conns, http1-request-timeout 60 (no sendfile in 2.2)"
    echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "server_cpu_s in results.csv: user+system seconds of the server's whole process tree during the run"
} >"$out/env.txt"

note "output: $out"
if [ "$only_scrape" -eq 1 ]; then
    echo "webserver, $procs worker processes, scenario 11 only: scenario 1 without and with" \
         "a /metrics scrape every second, $rounds rounds of ${duration}s runs;" \
         "wrk -t2 shares the $(nproc) cores with the server"
elif [ "$only_tls" -eq 1 ]; then
    echo "webserver vs $peer_list: $procs worker processes each, HTTPS scenarios 8 to 10 only," \
         "$rounds rounds of ${duration}s runs; wrk -t2 shares the $(nproc) cores with the server under test"
elif [ "$only_reload" -eq 1 ]; then
    echo "webserver vs ${peer_list:-nothing}: $procs worker processes each, scenario 7 only:" \
         "$reload_rounds rounds of ${reload_duration}s, HUP every ${reload_interval}s;" \
         "wrk -t2 shares the $(nproc) cores with the server under test"
else
    echo "webserver vs $peer_list: $procs worker processes each, $rounds rounds of ${duration}s runs;" \
         "wrk -t2 shares the $(nproc) cores with the server under test"
fi

# Scenarios 1 to 6 and 12 (not with --reload).
run_scenarios_1_to_6() {
    # warm-up (not recorded): page cache, lazy initialisation
    for srv in "${srv_all[@]}"; do
        wrk_run "warmup-$srv" "$(port_of "$srv")" /index.html 100 1
        [ "$srv" = minimal ] || wrk_run "warmup-big-$srv" "$(port_of "$srv")" /file-1m.bin 20 1
        check_server "$srv" "warm-up"
    done

    run_rounds 1 keepalive-1k /index.html 100 "${srv_all[@]}"
    run_rounds 2 close-1k /index.html 100 "${srv_all[@]}"
    run_rounds 3 keepalive-1m /file-1m.bin 20 "${srv_peers[@]}"
    run_rounds 4 keepalive-1k-c5000 /index.html 5000 "${srv_all[@]}"
    [ "$quick" -eq 1 ] \
        || run_rounds 12 close-1k-c$many_conns /index.html "$many_conns" "${srv_all[@]}"
    for round in $(seq 1 "$rounds"); do
        for srv in $(rotated "$round" "${srv_peers[@]}"); do
            measure_idle "$srv" "$round"
        done
    done
    if [ "$syscalls" -eq 1 ]; then
        : >"$tmp/syscalls.rows"
        measure_syscalls 1 keepalive-1k /index.html 100
        measure_syscalls 2 close-1k /index.html 100 -H 'Connection: close'
        measure_syscalls 4 keepalive-1k-c5000 /index.html 5000
        write_syscalls_report
    fi

    # Scenario 6: our server only; each round is a /welcome run and a scenario-1
    # run (same connections) right after it, so the ratio is drift-free.
    sid=""
    if [ -z "$s6_note" ]; then
        base="http://127.0.0.1:${sport[ours]}"
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
        for round in $(seq 1 "$rounds"); do
            measure_wrk 6 welcome-session ours "$round" /welcome 100 -H "Cookie: sid=$sid"
            # a 303 to /login.html is not a wrk error: check the size per answer
            if [ "$R_avg_bytes" -lt $((welcome_size * 9 / 10)) ]; then
                anomaly "scenario 6 round $round: $R_avg_bytes bytes per answer, a 200 /welcome is $welcome_size (redirects?)"
            fi
            measure_wrk 6 welcome-session ours-static "$round" /index.html 100
        done
    fi
}

# The scraper of scenario 11: curl on /metrics every second, each status
# appended to $tmp/scrapes; started in the background, stopped by its pid.
start_scraper() {
    local url="http://127.0.0.1:${sport[ours]}/metrics"
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

# Scenario 11 (--scrape): scenario 1 on ours, plain then scraped, per round.
run_scrape_scenario() {
    local n ok
    wrk_run "warmup-ours" "${sport[ours]}" /index.html 100 1
    check_server ours "warm-up"
    : >"$tmp/scrapes"
    # odd rounds run plain first, even rounds scraped first, so that a
    # machine getting busier (or quieter) during the run favours neither
    for round in $(seq 1 "$rounds"); do
        if [ $((round % 2)) -eq 1 ]; then
            measure_wrk 11 keepalive-1k-scrape ours-plain "$round" /index.html 100
        fi
        start_scraper
        measure_wrk 11 keepalive-1k-scrape ours "$round" /index.html 100
        stop_scraper
        if [ $((round % 2)) -eq 0 ]; then
            measure_wrk 11 keepalive-1k-scrape ours-plain "$round" /index.html 100
        fi
    done
    n=$(wc -l <"$tmp/scrapes")
    ok=$(grep -c '^200$' "$tmp/scrapes" || true)
    echo "scenario 11 scrapes: $ok of $n answered 200" | tee -a "$out/env.txt"
    [ "$n" -gt 0 ] && [ "$ok" -eq "$n" ] \
        || anomaly "scenario 11: $ok of $n scrapes of /metrics answered 200"
    cp "$tmp/scrapes" "$out/raw/s11-scrape-statuses.txt"
    curl -s --max-time 5 "http://127.0.0.1:${sport[ours]}/metrics" >"$out/raw/s11-metrics.txt" || true
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
    for srv in "${srv_reload[@]}"; do
        wrk_run "warmup-$srv" "$(port_of "$srv")" /index.html 50 1
        check_server "$srv" "warm-up"
    done
fi

# Scenario 7: rounds rotate ours, nginx; reloads every server the same.
if [ "$only_tls" -eq 0 ] && [ "$only_scrape" -eq 0 ]; then
    for round in $(seq 1 "$reload_rounds"); do
        for srv in $(rotated "$round" "${srv_reload[@]}"); do
            measure_reload "$srv" "$round"
        done
    done
fi
[ -z "$tls_resume_note" ] || echo "tls resumption check: $tls_resume_note" >>"$out/env.txt"
[ -z "${tls_server_resumes:-}" ] \
    || echo "tls: openssl s_client -sess_out/-sess_in resumed on:$tls_server_resumes" >>"$out/env.txt"

# ---- Stop, then report ----

for srv in "${!spid[@]}"; do stop_server "$srv"; done
[ -n "$redis_pid" ] && { stop_pid "$redis_pid"; redis_pid=""; }

{ echo "$csv_header"; cat "$out/results.csv.tmp"; } >"$out/results.csv"
rm -f "$out/results.csv.tmp"

# summary.csv: one row per scenario and server: medians over the rounds of
# the value (rate, bytes/s or KiB per idle connection), p50, p99 and CPU per
# request, the errors summed; then against the scenario's reference: the
# best peer (highest median rate; for scenario 5 the lowest memory),
# scenario 6's static run of ours, scenario 11's plain run, scenario 7's
# nginx: the median of the per-round ratios server/reference, their range,
# and the ratio of the CPU-per-request medians. In scenarios 1, 2, 4 and 12
# also each server's rate (median of per-round ratios) and CPU per request
# (ratio of medians) as a percentage of the minimal server's. For an even
# count the median of ratios is the geometric mean of the middle two
# (ratios multiply; 0.5 and 2 average to 1).
awk -F, -v s6note="$s6_note" -v full=$((1 - only_reload - only_tls - only_scrape)) \
    -v every="$reload_interval" -v order="ours ${peers[*]} minimal ours-static ours-plain" \
    -v peerlist=" ${peers[*]} " '
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
# per-round ratios of server s to server ref in scenario sc, as a list
function ratios(sc, s, ref,   r, l) {
    l = ""
    for (r = 1; r <= maxround[sc]; r++)
        if (((sc, s, r) in val) && ((sc, ref, r) in val) && val[sc, ref, r] != 0)
            l = l " " val[sc, s, r] / val[sc, ref, r]
    return l
}
function f4(x) { return x == "" ? "" : sprintf("%.4f", x) }
function f1(x) { return x == "" ? "" : sprintf("%.1f", x) }
NR == 1 { next }
{
    sc = $1; srv = $3; round = $4
    name[sc] = $2
    if (sc == 5) v = $20; else if (sc == 3) v = $6; else v = $5
    val[sc, srv, round] = v
    vals[sc, srv] = vals[sc, srv] " " v
    p50[sc, srv] = p50[sc, srv] " " $7; p99[sc, srv] = p99[sc, srv] " " $8
    err[sc, srv] += $14
    if (sc != 5 && $22 != "") cpu[sc, srv] = cpu[sc, srv] " " $22
    has[sc, srv] = 1
    if (round > maxround[sc]) maxround[sc] = round
    seen[sc] = 1
}
END {
    print "scenario,name,metric,server,value,p50_ms,p99_ms,cpu_us_per_req,errors,rounds,best_peer,ratio_to_best,ratio_min,ratio_max,cpu_ratio_to_best,rate_pct_of_minimal,cpu_pct_of_minimal,note"
    ns = split(order, srvs, " ")
    for (sc = 1; sc <= 12; sc++) {
        metric = sc == 3 ? "bytes_per_s" : sc == 5 ? "kib_per_conn" : "requests_per_s"
        if (!(sc in seen)) {
            if (sc == 6 && full) printf "6,welcome-session,requests_per_s,ours,,,,,,0,,,,,,,,%s\n", s6note
            continue
        }
        # the reference: the best peer, or the other run of ours
        ref = ""
        if (sc == 6) ref = "ours-static"
        else if (sc == 11) ref = "ours-plain"
        else {
            best = ""
            for (i = 1; i <= ns; i++) {
                s = srvs[i]
                if (index(peerlist, " " s " ") == 0 || !((sc, s) in has)) continue
                m = median(vals[sc, s])
                if (best == "" || (sc == 5 ? m + 0 < best + 0 : m + 0 > best + 0)) { best = m; ref = s }
            }
        }
        note = sc == 5 ? "lower is better" : sc == 6 ? "reference: ours on scenario 1 (static 1 KiB); ratio = welcome/static" : \
               sc == 7 ? "HUP every " every "s; errors = socket errors + non-2xx over all rounds (see results.csv)" : \
               sc == 9 ? "a new TLS connection with a full handshake per request (wrk + no_resume.so)" : \
               sc == 10 ? "a new TLS connection per request with the session resumed (plain wrk)" : \
               sc == 11 ? "reference: ours on scenario 1 without the scraper; ratio = scraped/plain" : \
               sc == 12 ? "a new connection per request; errors of peers are reported, not failures" : ""
        minimal = (sc == 1 || sc == 2 || sc == 4 || sc == 12) && ((sc, "minimal") in has)
        for (i = 1; i <= ns; i++) {
            s = srvs[i]
            if (!((sc, s) in has)) continue
            rl = ref == "" ? "" : ratios(sc, s, ref)
            np = split(rl, tmp, " ")
            cs = median(cpu[sc, s]); cr = ref == "" ? "" : median(cpu[sc, ref])
            mr = minimal ? ratios(sc, s, "minimal") : ""
            cm = minimal ? median(cpu[sc, "minimal"]) : ""
            printf "%d,%s,%s,%s,%s,%s,%s,%s,%d,%d,%s,%s,%s,%s,%s,%s,%s,%s\n", sc, name[sc], metric, s,
                median(vals[sc, s]),
                sc == 5 ? "" : median(p50[sc, s]), sc == 5 ? "" : median(p99[sc, s]),
                f1(cs), err[sc, s], split(vals[sc, s], tmp, " "), ref,
                np ? f4(rmedian(rl)) : "", np ? f4(rmin(rl)) : "", np ? f4(rmax(rl)) : "",
                (cs != "" && cr != "" && cr > 0) ? f4(cs / cr) : "",
                mr != "" ? f1(100 * rmedian(mr)) : "",
                (cs != "" && cm != "" && cm > 0) ? f1(100 * cs / cm) : "",
                note
        }
    }
}' "$out/results.csv" >"$out/summary.csv"

# The tables (also in summary.txt): first ours against the best peer per
# scenario, then every server per scenario.
awk -F, -v procs="$procs" -v dur="$duration" -v rounds="$rounds" -v idle="$idle_conns" \
    -v full=$((1 - only_reload - only_scrape)) -v every="$reload_interval" \
    -v many="$many_conns" '
function num(x, unit) {
    if (x == "") return "-"
    if (unit == "MiB/s") return sprintf("%.1f MiB/s", x / 1048576)
    if (unit == "KiB/conn") return sprintf("%.2f KiB/conn", x)
    return sprintf("%.0f req/s", x)
}
function lat(a, b) { return a == "" ? "-" : sprintf("%.2f/%.2f", a, b) }
function r2(x) { return x == "" ? "-" : sprintf("%.2f", x) }
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
    label[12] = "12 Connection: close 1 KiB, c" many
}
NR == 1 { next }
{
    n++
    for (i = 1; i <= NF; i++) row[n, i] = $i
    nf[n] = NF
}
END {
    printf "%-34s %-11s %15s %15s %-17s %-21s %-9s %s\n", "scenario", "best peer", "ours", "best peer", "ours/best (range)", "cpu us/req ours/best", "cpu ratio", "errors ours"
    for (k = 1; k <= n; k++) {
        sc = row[k, 1]; s = row[k, 4]
        if (s == "ours") { oursrow[sc] = k; order[++nsc] = sc }
        if (s == row[k, 11]) refrow[sc] = k
    }
    for (j = 1; j <= nsc; j++) {
        sc = order[j]; k = oursrow[sc]; b = refrow[sc]
        unit = sc == 3 ? "MiB/s" : sc == 5 ? "KiB/conn" : "req/s"
        if (row[k, 5] == "") { printf "%-34s %s\n", label[sc], row[k, 18]; continue }
        refname = row[k, 11]
        if (sc == 6) refname = "(ours, #1)"
        if (sc == 11) refname = "(ours plain)"
        printf "%-34s %-11s %15s %15s %-17s %-21s %-9s %s\n", label[sc], refname == "" ? "-" : refname,
            num(row[k, 5], unit), b ? num(row[b, 5], unit) : "-",
            row[k, 12] == "" ? "-" : sprintf("%.2f (%.2f-%.2f)", row[k, 12], row[k, 13], row[k, 14]),
            sc == 5 ? "-" : (row[k, 8] == "" ? "-" : row[k, 8]) "/" (b && row[b, 8] != "" ? row[b, 8] : "-"),
            sc == 5 ? "-" : r2(row[k, 15]), row[k, 9] (sc == 5 ? "  (lower is better)" : "")
    }
    printf "ours/best: median of the per-round ratios ours / best peer (the peer with the highest median;\n"
    printf "  scenario 5: the lowest); (range): lowest-highest round. cpu ratio: ours / best peer, CPU per request.\n"
    printf "\nper server (rate or memory: median over rounds; p50/p99 ms; cpu us/req; errors summed; vs best:\n"
    printf "median of per-round ratios to the best peer; %% of minimal: rate and cpu per request of each\n"
    printf "server as a percentage of the minimal epoll server, 1 KiB scenarios only):\n"
    last = ""
    for (k = 1; k <= n; k++) {
        sc = row[k, 1]
        if (row[k, 5] == "") continue
        unit = sc == 3 ? "MiB/s" : sc == 5 ? "KiB/conn" : "req/s"
        if (sc != last) {
            printf "\n%s\n", label[sc]
            printf "  %-12s %15s %17s %10s %7s %8s %16s\n", "server", sc == 5 ? "memory" : "rate", "p50/p99 ms", "cpu us/req", "errors", "vs best", "% of minimal r/c"
            last = sc
        }
        pm = row[k, 16] == "" ? "-" : sprintf("%.0f%%/%.0f%%", row[k, 16], row[k, 17])
        printf "  %-12s %15s %17s %10s %7s %8s %16s\n", row[k, 4], num(row[k, 5], unit),
            sc == 5 ? "-" : lat(row[k, 6], row[k, 7]), row[k, 8] == "" ? "-" : row[k, 8],
            row[k, 9], r2(row[k, 12]), pm
    }
    if (oursrow[6]) print "\n* scenario 6: the reference is ours on scenario 1 (static 1 KiB, c100), run right after\n  each /welcome run; ratio = /welcome / static, both ours."
    if (oursrow[11]) print "\n* scenario 11: the reference is ours on scenario 1 without the scraper, in the same round\n  (plain first in odd rounds, scraped first in even ones); ratio = scraped / plain, both ours."
    if (full)
        printf "\n%d rounds of %ss runs; each round runs every server once, the order rotating per round;\n", rounds, dur
    printf "worker processes: %d each; wrk -t2 runs on the same cores as the servers, so absolute figures\n", procs
    printf "are lower than with a separate client. cpu us/req: median over the runs of the user+system\n"
    printf "time of the server'"'"'s whole process tree / requests.\n"
}' "$out/summary.csv" | tee "$out/summary.txt"

# Scenario 7 round by round (also in summary.txt): what the goal counts.
awk -F, -v dur="$reload_duration" -v every="$reload_interval" '
NR == 1 || $1 != 7 { next }
{
    if (!hdr++) {
        printf "\nscenario 7: wrk -c50 keep-alive %ss on 1 KiB, HUP to the master every %ss; per round:\n", dur, every
        printf "%-6s %-6s %10s %9s %29s %8s %8s %12s %8s\n", "round", "server", "requests", "req/s", "socket errors c/r/w/timeout", "non-2xx", "reloads", "carried out", "workers"
    }
    printf "%-6s %-6s %10d %9.0f %29s %8d %8d %12d %8d\n", $4, $3, $15, $5, $9 "/" $10 "/" $11 "/" $12, $13, $23, $24, $25
    if (!($3 in req)) srv[++ns] = $3
    req[$3] += $15; sock[$3] += $9 + $10 + $11 + $12; st[$3] += $13; sent[$3] += $23; done[$3] += $24
}
END {
    if (!hdr) exit
    for (i = 1; i <= ns; i++)
        printf "%s %-5s %d requests, %d socket errors, %d non-2xx, %d reloads (%d carried out)\n", i == 1 ? "total:" : "      ", srv[i], req[srv[i]], sock[srv[i]], st[srv[i]], sent[srv[i]], done[srv[i]]
    printf "workers: most worker processes seen in the round, sampled every 0.5 s (draining generations included)\n"
}' "$out/results.csv" | tee -a "$out/summary.txt"

# The chart: per scenario, a bar for each server: its rate (scenario 5: its
# memory per idle connection) over the best peer's, the median of
# per-round ratios; 1.0 (dashed) is the best peer. Scenarios 6, 7 and 11
# compare ours with ours or only with nginx, and stay in the table.
chart_srv=(ours "${peers[@]}" minimal)
awk -F, -v cols="${chart_srv[*]}" '
BEGIN { nc = split(cols, c, " ") }
NR == 1 { next }
$1 != 6 && $1 != 7 && $1 != 11 && $12 != "" {
    if (!($1 in seen)) { seen[$1] = 1; sc[++n] = $1 }
    r[$1, $4] = $12
}
END {
    printf "scenario"; for (i = 1; i <= nc; i++) printf " \"%s\"", c[i]; printf "\n"
    for (k = 1; k <= n; k++) {
        s = sc[k]
        lab = s == 1 ? "1 keep-alive 1KiB" : s == 2 ? "2 close 1KiB" : s == 3 ? "3 keep-alive 1MiB" : \
              s == 4 ? "4 c5000 1KiB" : s == 5 ? "5 idle KiB/conn (lower=better)" : \
              s == 8 ? "8 HTTPS keep-alive" : s == 9 ? "9 HTTPS close, full hs" : \
              s == 10 ? "10 HTTPS close, resumed" : s == 12 ? "12 close 1KiB, c10000" : s
        printf "\"%s\"", lab
        for (i = 1; i <= nc; i++) printf " %s", ((s, c[i]) in r) ? r[s, c[i]] : "-"
        printf "\n"
    }
}' "$out/summary.csv" >"$out/chart.dat"
nrows=$(($(wc -l <"$out/chart.dat") - 1))
ncols=${#chart_srv[@]}
term="pngcairo size 1200,600 font ',10'"
gnuplot -e 'set terminal' 2>&1 | grep -q pngcairo || term="png size 1200,600"
# colours: ours blue, nginx green, lighttpd orange, h2o purple, minimal grey
declare -A colour=([ours]="#3366aa" [nginx]="#449944" [lighttpd]="#dd8833" [h2o]="#8855aa" [minimal]="#aaaaaa")
colours=""
for srv in "${chart_srv[@]}"; do colours="$colours ${colour[$srv]}"; done
if [ "$only_reload" -eq 1 ] || [ "$only_tls" -eq 1 ] || [ "$only_scrape" -eq 1 ]; then
    : # a few scenarios: the table says it all
elif [ "$nrows" -le 0 ]; then
    note "no ratios to plot"
elif ! gnuplot >"$out/gnuplot.log" 2>&1 <<EOG
set terminal $term
set output "$out/ratios.png"
set title "each server / best peer per scenario, $procs processes each (median of per-round ratios, $rounds rounds of ${duration}s)\nabove 1.0: faster than the best peer, except scenario 5 (memory per idle connection: below 1.0 = less); minimal = bare epoll server, 1 KiB scenarios only"
set datafile missing "-"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.9 border -1
set boxwidth 1
set yrange [0:2.6]
set ylabel "ratio to the best peer (bars above 2.6 are cut; the label says)"
set grid ytics
set key top left horizontal
set xtics rotate by -20 offset -1,0 scale 0
set arrow 1 from graph 0, first 1.0 to graph 1, first 1.0 nohead front lc rgb "#cc0000" lw 1.5 dt 2
colours = "$colours"
nc = $ncols
plot for [i=2:nc+1] "$out/chart.dat" using i:xtic(1) title columnheader(i) lc rgb word(colours, i-1), \
     for [i=2:nc+1] "" skip 1 using (\$0 + (i - 2 - (nc - 1) / 2.0) / (nc + 1)):(column(i) > 2.2 ? 2.2 : column(i)):(sprintf("%.2f", column(i))) with labels rotate by 90 left offset 0,0.3 font ",8" notitle
EOG
then
    note "gnuplot failed, see $out/gnuplot.log"
fi

if [ "$only_reload" -eq 1 ] || [ "$only_tls" -eq 1 ] || [ "$only_scrape" -eq 1 ]; then
    echo "results: $out/results.csv  summary: $out/summary.csv"
else
    echo "results: $out/results.csv  summary: $out/summary.csv  chart: $out/ratios.png"
fi
[ "$syscalls" -eq 0 ] || echo "syscalls: $out/syscalls.txt"
if [ ${#anomalies[@]} -gt 0 ]; then
    echo "PROBLEMS:"
    printf '  %s\n' "${anomalies[@]}"
    exit 3
fi
exit 0
