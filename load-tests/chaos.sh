#!/usr/bin/env bash
# Injects one fault into the stack `scale-runs.sh chaos` started; the load generator runs it
# at each `--chaos KIND@WHEN` with KIND as its argument, and reports what it printed and
# whether it succeeded:
#
#   redis-restart     SIGKILL the stack's Redis, wait CHAOS_REDIS_DOWN_SECS (2), start it
#                     again on its append-only file
#   api-kill          SIGKILL the API instance `a2` (never the one whose ticker is watched
#                     first), wait CHAOS_API_DOWN_SECS (10), start it again on its port
#   postgres-restart  stop the stack's Postgres at once (`-m immediate`: a crash, recovery
#                     replays the WAL), wait CHAOS_PG_DOWN_SECS (2), start it again
#   gateway-upgrade   replace the gateway by a new process that takes over its listening
#                     socket (scripts/upgrade-gateway.sh)
#
# It needs what scale-runs.sh exports: CHAOS_DIR (the stack's folder with its pid and port
# files), CHAOS_BIN (the executables), and the API's environment (DATABASE_URL, REDIS_URL...).
set -euo pipefail

KIND="${1:?redis-restart, api-kill, postgres-restart or gateway-upgrade}"
DIR="${CHAOS_DIR:?run me through scale-runs.sh chaos: CHAOS_DIR is not set}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${CHAOS_BIN:-$ROOT/target/release}"

say() { printf '%s %s\n' "$(date +%H:%M:%S.%3N)" "$*"; }
# Processes started here are the stack's too: stack_down stops them.
adopt() { echo "$1" >>"$DIR/pids"; }

wait_until() {
    local what="$1" seconds="$2"
    shift 2
    local deadline=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        [ "$SECONDS" -lt "$deadline" ] || { say "$what: not back after ${seconds} s"; return 1; }
        sleep 0.1
    done
}

redis_up() { redis-cli -p "$CHAOS_REDIS_PORT" ping | grep -q PONG; }

case "$KIND" in
redis-restart)
    pid="$(cat "$DIR/redis.pid")"
    kill -KILL "$pid"
    say "Redis (pid $pid) killed"
    sleep "${CHAOS_REDIS_DOWN_SECS:-2}"
    redis-server "$DIR/redis.conf" >>"$DIR/redis.log" 2>&1 &
    echo $! >"$DIR/redis.pid"
    adopt $!
    wait_until "Redis" 60 redis_up
    say "Redis back (pid $!), keys: $(redis-cli -p "$CHAOS_REDIS_PORT" dbsize)"
    ;;
api-kill)
    pid="$(cat "$DIR/api-a2.pid")" port="$(cat "$DIR/api-a2.port")"
    kill -KILL "$pid"
    say "API a2 (pid $pid, port $port) killed"
    sleep "${CHAOS_API_DOWN_SECS:-10}"
    API_BIND="127.0.0.1:$port" WORKERS_ENABLED=true "$BIN/graphql-api" serve >>"$DIR/a2.log" 2>&1 &
    echo $! >"$DIR/api-a2.pid"
    adopt $!
    wait_until "API a2" 60 curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz"
    say "API a2 back (pid $!)"
    ;;
postgres-restart)
    runuser -u postgres -- "$CHAOS_PG_BIN/pg_ctl" -D "$CHAOS_PG_DATA" -m immediate -w stop
    say "Postgres stopped (immediate: no checkpoint, as a crash)"
    sleep "${CHAOS_PG_DOWN_SECS:-2}"
    runuser -u postgres -- "$CHAOS_PG_BIN/pg_ctl" -D "$CHAOS_PG_DATA" -l "$CHAOS_PG_DATA/server.log" -w -t 120 start >/dev/null
    say "Postgres back after crash recovery"
    ;;
gateway-upgrade)
    pid="$(cat "$DIR/gateway.pid")"
    # The new gateway reads the settings the old one was started with (stack.sh wrote them).
    set -a
    # shellcheck source=/dev/null
    source "$DIR/gateway.env"
    set +a
    "$ROOT/scripts/upgrade-gateway.sh" --pid-file "$DIR/gateway.pid" --bin "$BIN/gateway" \
        --log "$DIR/gateway-upgraded.log" -- --config "$ROOT/gateway/gateway.example.toml"
    adopt "$(cat "$DIR/gateway.pid")"
    say "gateway $pid replaced by $(cat "$DIR/gateway.pid")"
    ;;
*)
    echo "unknown fault $KIND: redis-restart, api-kill, postgres-restart or gateway-upgrade" >&2
    exit 2
    ;;
esac
