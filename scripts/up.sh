#!/usr/bin/env bash
# Brings the whole system up on this machine: Postgres and Redis (found or started),
# migrations, the demo event, the web client, the API behind the gateway; then prints where
# to open it. Stop everything with scripts/down.sh. Logs: .local/logs/.

source "$(dirname "$0")/lib.sh"

PROFILE="${PROFILE:-dev}"
API_PORT="${API_PORT:-8080}"
GATEWAY_PORT="${GATEWAY_PORT:-8000}"

ensure_rust
ensure_build_tools
ensure_postgres
ensure_redis

log "building the API and the gateway (profile $PROFILE; the first build takes a few minutes)"
cargo build --profile "$PROFILE" -p graphql-api -p gateway --manifest-path "$ROOT/Cargo.toml"
target_dir="$ROOT/target/$([ "$PROFILE" = dev ] && echo debug || echo "$PROFILE")"

client_dir=""
if have npm; then
    log "building the web client"
    [ -d "$ROOT/client/node_modules" ] || npm ci --prefix "$ROOT/client" --no-audit --no-fund
    npm run --prefix "$ROOT/client" build >"$LOCAL/logs/client-build.log" 2>&1 \
        || { warn "the client did not build; see $LOCAL/logs/client-build.log"; exit 1; }
    client_dir="$ROOT/client/dist"
else
    warn "npm not found: the API runs without the web client (install Node.js 20 for it)"
fi

export DATABASE_URL="${DATABASE_URL:-postgres://postgres@$PGHOST_ADDR:$PGPORT/tickets}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:$REDIS_PORT/0}"
export REDIS_KEY_PREFIX="${REDIS_KEY_PREFIX:-tix:}"
# A demo admin (sign up with this address to get the admin role: queue controls).
export ADMIN_EMAILS="${ADMIN_EMAILS:-admin@tickets.local}"

log "migrating and loading the demo event"
"$target_dir/graphql-api" seed

"$ROOT/scripts/down.sh" --quiet || true
log "starting the API on 127.0.0.1:$API_PORT"
API_BIND="127.0.0.1:$API_PORT" CLIENT_DIR="$client_dir" nohup "$target_dir/graphql-api" serve \
    >"$LOCAL/logs/api.log" 2>&1 &
echo $! >"$LOCAL/run/api.pid"
if ! wait_http "http://127.0.0.1:$API_PORT/readyz" 60; then
    warn "the API did not become ready; last lines of $LOCAL/logs/api.log:"
    tail -20 "$LOCAL/logs/api.log" >&2
    exit 1
fi

log "starting the gateway on 127.0.0.1:$GATEWAY_PORT"
GATEWAY_LISTEN="127.0.0.1:$GATEWAY_PORT" GATEWAY_UPSTREAMS="127.0.0.1:$API_PORT" \
    nohup "$target_dir/gateway" --config "$ROOT/gateway/gateway.example.toml" \
    >"$LOCAL/logs/gateway.log" 2>&1 &
echo $! >"$LOCAL/run/gateway.pid"
if ! wait_http "http://127.0.0.1:$GATEWAY_PORT/healthz" 30; then
    warn "the gateway did not start; last lines of $LOCAL/logs/gateway.log:"
    tail -20 "$LOCAL/logs/gateway.log" >&2
    exit 1
fi

cat <<MSG

  The ticketing system is up.

  Open:       http://127.0.0.1:$GATEWAY_PORT/                (the fans' web client, through the gateway)
  GraphiQL:   http://127.0.0.1:$GATEWAY_PORT/graphql         (public schema)
  Gateway:    http://127.0.0.1:$GATEWAY_PORT/metrics         (Prometheus metrics)
  API direct: http://127.0.0.1:$API_PORT/readyz
  Admin:      sign up as $ADMIN_EMAILS for the queue controls
  Logs:       $LOCAL/logs/
  Stop:       scripts/down.sh

MSG
