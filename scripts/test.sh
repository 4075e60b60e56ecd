#!/usr/bin/env bash
# Runs every test: finds or starts Postgres and Redis, then
#   1. the whole Rust workspace (unit and integration tests against the real services:
#      API, gateway, queue on a real Redis Cluster, load-test logic),
#   2. the web client's unit tests and its end-to-end journey in Debian's Chromium,
#   3. a short load-test rush through the gateway with its audit (no oversell, no queue
#      jumping, the cap held).
# Extra arguments go to the Rust test runner. SKIP_CLIENT=1 / SKIP_RUSH=1 skip parts 2 / 3.

source "$(dirname "$0")/lib.sh"

prepare_tests

cd "$ROOT"
failed=0
if cargo nextest --version >/dev/null 2>&1; then
    log "1/3 Rust tests (cargo-nextest)"
    cargo nextest run --workspace --no-fail-fast "$@" || failed=1
else
    log "1/3 Rust tests (cargo test; install cargo-nextest for faster runs)"
    cargo test --workspace --no-fail-fast "$@" || failed=1
fi

if [ "${SKIP_CLIENT:-0}" != 1 ]; then
    log "2/3 web client: unit tests and the end-to-end journey in Chromium"
    have node || apt_install nodejs npm
    [ -x /usr/bin/chromium ] || apt_install chromium
    # The e2e run starts its own API and gateway from the debug build. The test build above
    # made both executables with the workspace's test features; building them again with
    # `-p` would resolve features differently and compile many dependencies a second time.
    if [ ! -x target/debug/graphql-api ] || [ ! -x target/debug/gateway ]; then
        cargo build -p graphql-api -p gateway
    fi
    { npm ci --prefix client --no-audit --no-fund \
        && npm run --prefix client build \
        && npm test --prefix client \
        && npm run --prefix client e2e; } || failed=1
fi

if [ "${SKIP_RUSH:-0}" != 1 ]; then
    log "3/3 a short rush with its audit"
    STACK_PREBUILT=1 load-tests/ci-rush.sh || failed=1
fi

if [ "$failed" -ne 0 ]; then
    warn "some tests failed (see above)"
    exit 1
fi
log "every test passed"
