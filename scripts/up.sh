#!/usr/bin/env bash
# Brings the whole system up on this machine: Postgres and Redis (found or started),
# migrations, the demo event, the API; then prints where to open it.
# Stop everything with scripts/down.sh. Logs: .local/logs/.

source "$(dirname "$0")/lib.sh"

PROFILE="${PROFILE:-dev}"
API_PORT="${API_PORT:-8080}"

ensure_rust
ensure_build_tools
ensure_postgres
ensure_redis

log "building (profile $PROFILE; the first build takes a few minutes)"
cargo build --profile "$PROFILE" -p graphql-api -p gateway --manifest-path "$ROOT/Cargo.toml"
target_dir="$ROOT/target/$([ "$PROFILE" = dev ] && echo debug || echo "$PROFILE")"

export DATABASE_URL="${DATABASE_URL:-postgres://postgres@$PGHOST_ADDR:$PGPORT/tickets}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:$REDIS_PORT/0}"

log "migrating and loading the demo event"
"$target_dir/graphql-api" seed

"$ROOT/scripts/down.sh" --quiet || true
log "starting the API on 127.0.0.1:$API_PORT"
API_BIND="127.0.0.1:$API_PORT" nohup "$target_dir/graphql-api" serve \
    >"$LOCAL/logs/api.log" 2>&1 &
echo $! >"$LOCAL/run/api.pid"
if ! wait_http "http://127.0.0.1:$API_PORT/readyz" 60; then
    warn "the API did not become ready; last lines of $LOCAL/logs/api.log:"
    tail -20 "$LOCAL/logs/api.log" >&2
    exit 1
fi

cat <<MSG

  The ticketing system is up.

  Open:       http://127.0.0.1:$API_PORT/graphql        (GraphiQL, public schema)
  Sale:       http://127.0.0.1:$API_PORT/sale/1/graphql (GraphiQL, the demo show's seats)
  Health:     http://127.0.0.1:$API_PORT/readyz
  Logs:       $LOCAL/logs/
  Stop:       scripts/down.sh

MSG
