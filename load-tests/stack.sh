# Shared by ci-rush.sh and baselines.sh (source it): start a private copy of the system (its
# own database and Redis prefix, API instances and a gateway on free ports), and take it all
# down again. Only processes this file started are stopped, by their pids.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROFILE="${PROFILE:-release}"
if [ "$PROFILE" = release ]; then BIN="$ROOT/target/release"; else BIN="$ROOT/target/debug"; fi
# The generator may come from another profile (LOADGEN_BIN=target/debug/load-tests).
LOADGEN_BIN="${LOADGEN_BIN:-$BIN/load-tests}"
STACK_ID="${STACK_ID:-$(date +%s)_$RANDOM}"
STACK_DIR="$(mktemp -d "/tmp/load-tests-$STACK_ID.XXXX")"
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/tickets_rush_${STACK_ID}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
export REDIS_KEY_PREFIX="rush${STACK_ID}:"
# The API and the gateway must share the admission keyring.
export ADMISSION_TOKEN_KEYS="lt-adm:$(head -c 24 /dev/urandom | base64 | tr -d '/+=')"
export LOADTEST_ADMIN_EMAIL="loadtest-admin@load.test"
export LOADTEST_ADMIN_PASSWORD="load-test-admin-password"
STACK_PIDS=()

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }

# A free TCP port on 127.0.0.1.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_http URL SECONDS: until URL answers 2xx.
wait_http() {
    local url="$1" deadline=$((SECONDS + ${2:-30}))
    until curl -fsS -o /dev/null "$url" 2>/dev/null; do
        [ "$SECONDS" -lt "$deadline" ] || { log "no answer from $url"; return 1; }
        sleep 0.2
    done
}

stack_build() {
    local flag=()
    # CI's test build already made every executable (with the workspace's test features);
    # `cargo build -p ...` would resolve features differently and recompile dependencies.
    if [ "${STACK_PREBUILT:-0}" = 1 ] && [ -x "$BIN/graphql-api" ] && [ -x "$BIN/gateway" ] \
        && [ -x "$LOADGEN_BIN" ]; then
        log "using the executables already built in $BIN"
        return 0
    fi
    [ "$PROFILE" = release ] && flag=(--release)
    log "building graphql-api, gateway and load-tests ($PROFILE)"
    (cd "$ROOT" && cargo build "${flag[@]}" -q -p graphql-api -p gateway -p load-tests)
    [ "${LOADGEN_BIN}" = "$BIN/load-tests" ] || (cd "$ROOT" && cargo build -q -p load-tests)
}

# The API's environment for a load run: cheap sign-up hashing (deliberately slow in
# production), admins for the test, and whatever the caller exported (QUEUE_*, HOLD_*...).
api_env() {
    export ARGON2_MEMORY_KIB="${ARGON2_MEMORY_KIB:-1024}" ARGON2_ITERATIONS="${ARGON2_ITERATIONS:-1}"
    export ADMIN_EMAILS="$LOADTEST_ADMIN_EMAIL" LOG_FORMAT=json RUST_LOG="${RUST_LOG:-warn}"
    export ACCESS_TOKEN_TTL_SECS="${ACCESS_TOKEN_TTL_SECS:-7200}"
}

# seed_event SEATS: migrates the fresh database and seeds `load-test-SEATS`; prints its id.
seed_event() {
    api_env
    "$BIN/graphql-api" seed --seats "$1" --no-demo | tee -a "$STACK_DIR/seed.log" >&2
    grep -o 'event [0-9]*' "$STACK_DIR/seed.log" | tail -1 | cut -d' ' -f2
}

# start_api NAME PORT [workers true|false]: one API instance; sets API_PID_<NAME>.
start_api() {
    local name="$1" port="$2" workers="${3:-true}"
    api_env
    API_BIND="127.0.0.1:$port" WORKERS_ENABLED="$workers" \
        "$BIN/graphql-api" serve >"$STACK_DIR/$name.log" 2>&1 &
    local pid=$!
    STACK_PIDS+=("$pid")
    printf -v "API_PID_$name" '%s' "$pid"
    echo "$pid" >"$STACK_DIR/api-$name.pid"
    echo "$port" >"$STACK_DIR/api-$name.port"
    wait_http "http://127.0.0.1:$port/readyz" 60 || { tail -20 "$STACK_DIR/$name.log" >&2; return 1; }
    log "API $name on 127.0.0.1:$port (pid $pid)"
}

# start_gateway PORT UPSTREAMS: the Pingora gateway; sets GATEWAY_PID. It stops quickly by
# default (grace 2 s, then 1 s for what is left: requests still running are cut); the chaos
# run sets GATEWAY_GRACE_PERIOD_SECS and GATEWAY_GRACEFUL_SHUTDOWN_TIMEOUT_SECS to the
# deployed values, so an upgrade lets requests in flight finish as it would in production.
start_gateway() {
    local port="$1" upstreams="$2"
    local grace="${GATEWAY_GRACE_PERIOD_SECS:-2}" drain="${GATEWAY_GRACEFUL_SHUTDOWN_TIMEOUT_SECS:-1}"
    # Kept for chaos.sh: an upgraded gateway must start with the same settings.
    cat >"$STACK_DIR/gateway.env" <<ENV
GATEWAY_LISTEN=127.0.0.1:$port
GATEWAY_UPSTREAMS=$upstreams
GATEWAY_UPGRADE_SOCK=$STACK_DIR/gateway-upgrade.sock
GATEWAY_ACCESS_LOG=${GATEWAY_ACCESS_LOG:-false}
LOG_FORMAT=json
RUST_LOG=${RUST_LOG:-warn}
GATEWAY_GRACE_PERIOD_SECS=$grace
GATEWAY_GRACEFUL_SHUTDOWN_TIMEOUT_SECS=$drain
ENV
    GATEWAY_LISTEN="127.0.0.1:$port" GATEWAY_UPSTREAMS="$upstreams" \
        GATEWAY_UPGRADE_SOCK="$STACK_DIR/gateway-upgrade.sock" \
        GATEWAY_ACCESS_LOG="${GATEWAY_ACCESS_LOG:-false}" LOG_FORMAT=json RUST_LOG="${RUST_LOG:-warn}" \
        GATEWAY_GRACE_PERIOD_SECS="$grace" GATEWAY_GRACEFUL_SHUTDOWN_TIMEOUT_SECS="$drain" \
        "$BIN/gateway" --config "$ROOT/gateway/gateway.example.toml" >"$STACK_DIR/gateway-$port.log" 2>&1 &
    GATEWAY_PID=$!
    STACK_PIDS+=("$GATEWAY_PID")
    echo "$GATEWAY_PID" >"$STACK_DIR/gateway.pid"
    echo "$port" >"$STACK_DIR/gateway.port"
    wait_http "http://127.0.0.1:$port/healthz" 30 || { tail -20 "$STACK_DIR/gateway-$port.log" >&2; return 1; }
    log "gateway on 127.0.0.1:$port -> $upstreams (pid $GATEWAY_PID)"
}

# start_private_redis PORT: a Redis of the stack's own, as the project's scripts run it (an
# append-only file synced every second), so `chaos.sh redis-restart` may kill it without
# touching the machine's Redis; points REDIS_URL at it.
start_private_redis() {
    local port="$1"
    mkdir -p "$STACK_DIR/redis"
    cat >"$STACK_DIR/redis.conf" <<CONF
bind 127.0.0.1
port $port
dir $STACK_DIR/redis
save ""
appendonly yes
appendfsync everysec
maxclients 20000
CONF
    redis-server "$STACK_DIR/redis.conf" >"$STACK_DIR/redis.log" 2>&1 &
    echo $! >"$STACK_DIR/redis.pid"
    STACK_PIDS+=("$!")
    local deadline=$((SECONDS + 15))
    until redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; do
        [ "$SECONDS" -lt "$deadline" ] || { tail -20 "$STACK_DIR/redis.log" >&2; return 1; }
        sleep 0.1
    done
    export REDIS_URL="redis://127.0.0.1:$port/0" CHAOS_REDIS_PORT="$port"
    log "private Redis on 127.0.0.1:$port (append-only file in $STACK_DIR/redis)"
}

# start_private_postgres PORT: a Postgres cluster of the stack's own (initdb as the postgres
# user: it refuses root), durable as a real one (fsync on), so `chaos.sh postgres-restart`
# may crash it; points DATABASE_URL at it.
start_private_postgres() {
    local port="$1" bin
    bin="$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)"
    [ -x "$bin/initdb" ] || bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
    export CHAOS_PG_BIN="$bin" CHAOS_PG_DATA="$STACK_DIR/pg" CHAOS_PG_PORT="$port"
    mkdir -p "$CHAOS_PG_DATA" && chown postgres "$CHAOS_PG_DATA" "$STACK_DIR" && chmod 700 "$CHAOS_PG_DATA"
    runuser -u postgres -- "$bin/initdb" -D "$CHAOS_PG_DATA" -U postgres --auth=trust >"$STACK_DIR/initdb.log" 2>&1 \
        || { tail -20 "$STACK_DIR/initdb.log" >&2; return 1; }
    cat >>"$CHAOS_PG_DATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$CHAOS_PG_DATA'
max_connections = 200
shared_buffers = 256MB
fsync = on
synchronous_commit = on
CONF
    chaos_pg_start
    export DATABASE_URL="postgres://postgres@127.0.0.1:$port/tickets_rush_${STACK_ID}"
    log "private Postgres on 127.0.0.1:$port (data in $CHAOS_PG_DATA)"
}

# Starts (or restarts) the private cluster and waits until it takes connections.
chaos_pg_start() {
    runuser -u postgres -- "$CHAOS_PG_BIN/pg_ctl" -D "$CHAOS_PG_DATA" -l "$CHAOS_PG_DATA/server.log" -w -t 60 start >/dev/null \
        || { tail -20 "$CHAOS_PG_DATA/server.log" >&2; return 1; }
}

# Stops the private cluster: `immediate` is a crash (recovery replays the WAL on start).
chaos_pg_stop() {
    runuser -u postgres -- "$CHAOS_PG_BIN/pg_ctl" -D "$CHAOS_PG_DATA" -m "${1:-fast}" -w stop >/dev/null 2>&1 || true
}

redis_pid() { pgrep -x redis-server | head -1; }
# The Postgres backends serve the API: watch the postmaster's children as one.
postgres_pids() { pgrep -x postgres | paste -sd, -; }

stack_down() {
    local pid
    # Processes chaos.sh started again (an API, Redis, a gateway) are the stack's too.
    if [ -f "$STACK_DIR/pids" ]; then
        while read -r pid; do STACK_PIDS+=("$pid"); done <"$STACK_DIR/pids"
    fi
    for pid in "${STACK_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${STACK_PIDS[@]}"; do
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    STACK_PIDS=()
    [ -z "${CHAOS_PG_DATA:-}" ] || chaos_pg_stop fast
    if [ "${KEEP_STACK:-0}" != 1 ]; then
        psql -q -h 127.0.0.1 -U postgres -d postgres \
            -c "DROP DATABASE IF EXISTS tickets_rush_${STACK_ID} WITH (FORCE)" >/dev/null 2>&1 || true
        redis-cli -u "$REDIS_URL" --scan --pattern "${REDIS_KEY_PREFIX}*" 2>/dev/null \
            | xargs -r -n 500 redis-cli -u "$REDIS_URL" del >/dev/null 2>&1 || true
        rm -rf "$STACK_DIR"
    else
        log "kept database tickets_rush_${STACK_ID}, Redis prefix ${REDIS_KEY_PREFIX}, logs in $STACK_DIR"
    fi
}
