#!/usr/bin/env bash
# Shared set-up steps for up.sh, test.sh and .ci/run: find or start Postgres and Redis on
# their usual local ports, install what a fresh Debian machine lacks. Idempotent.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL="$ROOT/.local"
mkdir -p "$LOCAL/run" "$LOCAL/logs"

PGHOST_ADDR="${PGHOST_ADDR:-127.0.0.1}"
PGPORT="${PGPORT:-5432}"
REDIS_PORT="${REDIS_PORT:-6379}"

log() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
warn() { printf '\033[1;33m==>\033[0m %s\n' "$*" >&2; }

have() { command -v "$1" >/dev/null 2>&1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif have sudo; then sudo "$@"; else
        warn "need root for: $*"; return 1; fi
}

APT_UPDATED=0
apt_install() {
    local missing=()
    for pkg in "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if ! have apt-get; then warn "cannot install ${missing[*]}: no apt-get"; return 1; fi
    log "installing ${missing[*]}"
    if [ "$APT_UPDATED" -eq 0 ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Build tools: Pingora compiles zlib-ng with cmake; everything links with gcc.
ensure_build_tools() {
    have cmake || apt_install cmake
    have cc || apt_install build-essential
    have curl || apt_install curl ca-certificates
}

postgres_up() { have pg_isready && pg_isready -q -h "$PGHOST_ADDR" -p "$PGPORT"; }

ensure_postgres() {
    if postgres_up; then log "Postgres answers on $PGHOST_ADDR:$PGPORT"; return 0; fi
    apt_install postgresql postgresql-client
    # A cluster of the machine's (Debian's "main") may just be stopped: start it if it
    # trusts local TCP connections; otherwise run a project-local cluster that does.
    if have pg_lsclusters && pg_lsclusters -h 2>/dev/null | grep -q " $PGPORT "; then
        local version cluster
        read -r version cluster _ < <(pg_lsclusters -h | awk -v p="$PGPORT" '$3 == p')
        if grep -Eq '^host\s+all\s+all\s+127\.0\.0\.1/32\s+trust' "/etc/postgresql/$version/$cluster/pg_hba.conf" 2>/dev/null; then
            log "starting Postgres cluster $version/$cluster"
            as_root pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start || true
            for _ in $(seq 1 30); do postgres_up && return 0; sleep 0.5; done
        fi
    fi
    local bin data
    bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
    data="$LOCAL/postgres"
    if [ ! -f "$data/PG_VERSION" ]; then
        log "creating a project-local Postgres cluster in $data (trust auth, loopback only)"
        mkdir -p "$data"
        chown postgres:postgres "$data" 2>/dev/null || true
        as_postgres "$bin/initdb" -D "$data" -U postgres -A trust --no-sync >/dev/null
    fi
    log "starting project-local Postgres on $PGHOST_ADDR:$PGPORT"
    as_postgres "$bin/pg_ctl" -D "$data" -l "$LOCAL/logs/postgres.log" -w \
        -o "-p $PGPORT -c listen_addresses=$PGHOST_ADDR -k /tmp -c max_connections=200" start >/dev/null
    postgres_up || { warn "Postgres did not start; see $LOCAL/logs/postgres.log"; return 1; }
}

as_postgres() {
    if [ "$(id -u)" -eq 0 ]; then
        chown -R postgres:postgres "$LOCAL/postgres" 2>/dev/null || true
        touch "$LOCAL/logs/postgres.log"; chown postgres:postgres "$LOCAL/logs/postgres.log"
        chmod o+x "$ROOT" "$LOCAL" "$LOCAL/logs" 2>/dev/null || true
        su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
    else
        "$@"
    fi
}

redis_up() { have redis-cli && [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]; }

# The queue and every admission live only in Redis, so the project's Redis keeps an
# append-only file synced every second: killed and started again, it comes back with every
# place in line and every admission, losing at most the last second of writes (a fan whose
# join was lost finds themselves out of line and joins again). A Redis that was already
# running is used as it is; without persistence a restart of it loses the queue, so we say so.
ensure_redis() {
    if redis_up; then
        log "Redis answers on 127.0.0.1:$REDIS_PORT"
        if [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" config get appendonly 2>/dev/null | tail -1)" != "yes" ]; then
            warn "that Redis keeps no append-only file: a restart of it loses the queue (redis-cli config set appendonly yes turns it on)"
        fi
        return 0
    fi
    apt_install redis-server redis-tools
    log "starting Redis on 127.0.0.1:$REDIS_PORT (append-only file, synced every second)"
    redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" \
        --appendonly yes --appendfsync everysec \
        --dir "$LOCAL/run" --logfile "$LOCAL/logs/redis.log" --pidfile "$LOCAL/run/redis.pid"
    for _ in $(seq 1 30); do redis_up && return 0; sleep 0.2; done
    warn "Redis did not start; see $LOCAL/logs/redis.log"; return 1
}

ensure_rust() {
    if ! have cargo; then
        warn "cargo not found: install Rust 1.94 or newer (rustup) and run this again"; return 1
    fi
}

# Waits until a URL answers 200, up to $2 seconds.
wait_http() {
    local url="$1" seconds="${2:-30}"
    for _ in $(seq 1 $((seconds * 5))); do
        curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
        sleep 0.2
    done
    return 1
}

# Everything the Rust tests need: the toolchain, build tools, Postgres and Redis running, and
# the tests pointed at them (test.sh and fuzz.sh).
prepare_tests() {
    ensure_rust
    ensure_build_tools
    ensure_postgres
    ensure_redis
    export TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@$PGHOST_ADDR:$PGPORT/postgres}"
    export TEST_REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:$REDIS_PORT/0}"
}
