#!/usr/bin/env bash
# Runs every test: finds or starts Postgres and Redis, then the whole workspace's tests
# (unit and integration, against real services). Extra arguments go to the test runner.

source "$(dirname "$0")/lib.sh"

ensure_rust
ensure_build_tools
ensure_postgres
ensure_redis

export TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@$PGHOST_ADDR:$PGPORT/postgres}"
export TEST_REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:$REDIS_PORT/0}"

cd "$ROOT"
if cargo nextest --version >/dev/null 2>&1; then
    log "running the Rust tests with cargo-nextest"
    cargo nextest run --workspace --no-fail-fast "$@"
else
    log "running the Rust tests with cargo test (install cargo-nextest for faster runs)"
    cargo test --workspace --no-fail-fast "$@"
fi
