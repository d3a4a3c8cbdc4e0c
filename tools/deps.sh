#!/usr/bin/env bash
# tools/deps.sh - install the Debian packages the build and tests need, only
# those missing. Sourced by run.sh and test.sh; needs root (or sudo) when
# something is missing.
set -euo pipefail

WEBSERVER_PKGS_BUILD="build-essential cmake pkg-config libevent-dev libhiredis-dev libcmocka-dev libcrypt-dev libssl-dev"
WEBSERVER_PKGS_RUN="redis-server"
# the tests also run these (multipart answers checked with Python's email
# parser, curl --compressed, tools/precompress.sh; openssl req and
# s_client for the HTTPS tests; haproxy in front of several instances and
# wrk as the load of their rolling restart, test_haproxy; promtool, from
# prometheus, checks /metrics; redis-sentinel for the Sentinel failover
# tests and tools/failover_time.sh)
WEBSERVER_PKGS_TEST="python3 curl gzip brotli openssl haproxy wrk prometheus redis-sentinel"
# tools/loadtest.sh and tests/bench: the load generator and the peers it
# measures against (lighttpd's TLS module is a package of its own), the
# chart, and strace for --syscalls; the script installs only what is missing
WEBSERVER_PKGS_LOADTEST="wrk nginx lighttpd lighttpd-mod-openssl h2o gnuplot-nox strace"
# the browser tests (tests/e2e): Debian's Chromium, driven from Node.js
WEBSERVER_PKGS_E2E="chromium"

deps_install() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
            || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "installing: ${missing[*]}" >&2
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -q >/dev/null
    $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

# deps_install_e2e DIR: what the browser tests in DIR (tests/e2e) need:
# Chromium, Node.js and npm from Debian when there are none (a node that
# brought its own npm is kept), then the pinned npm packages of
# DIR/package-lock.json (npm ci).
deps_install_e2e() {
    deps_install $WEBSERVER_PKGS_E2E
    command -v node >/dev/null 2>&1 || deps_install nodejs
    command -v npm >/dev/null 2>&1 || deps_install npm
    npm ci --prefix "$1" --no-audit --no-fund --loglevel=error
}
