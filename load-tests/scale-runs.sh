#!/usr/bin/env bash
# The issue's two scale numbers on this box, each on a private stack (release build):
#
#   load-tests/scale-runs.sh queue   # QFANS (100,000) fans in the queue at once, QSUBS_SHARE
#                                    # (0.2 = 20,000) of them holding a live subscription
#   load-tests/scale-runs.sh seats   # SFANS (10,000) admitted fans racing for SEATS (5,000)
#   load-tests/scale-runs.sh chaos   # the seat rush while parts fail: CHAOS (default
#                                    # redis-restart@30s,api-kill@60s,postgres-restart@90s,
#                                    # gateway-upgrade@120s), injected by chaos.sh
#
# The seat rush's admission (ADMISSION=...):
#   pinned (default)  the rate and cap set by hand: SADMIT (200/s), SCAP (500 shoppers)
#   autopilot         no hand-set cap: the autopilot starts at SADMIT / SCAP and moves both
#                     between its bounds (SADMIT_MAX 1,000/s, SCAP_MAX 10,000) from the sale
#                     path's health
#   off               the autopilot off and the cap at SCAP (set SCAP=10000 to see load
#                     shedding answer BUSY where the pool would have timed out)
#
# Sockets: one process may hold 20,000 files here, so the queue run uses two API instances
# (subscriptions go straight to them, ~10,000 each; HTTP goes through the gateway) and
# three load-generator processes. Reports land in target/load-tests/scale-<which>/.
set -euo pipefail

WHICH="${1:?queue, seats or chaos}"
PROFILE="${PROFILE:-release}"
source "$(dirname "${BASH_SOURCE[0]}")/stack.sh"
trap stack_down EXIT
stack_build
REPORT_DIR="${REPORT_DIR:-$ROOT/target/load-tests/scale-$WHICH}"
WATCH_COMMON="redis-server,postgres"

case "$WHICH" in
queue)
    # Polling fans say "still here" every 50 s; the default abandon window is 60 s.
    export QUEUE_UPDATE_SECS=5 ADMISSION_TTL_SECS=300 DB_MAX_CONNECTIONS=10
    EVENT="$(seed_event 1000)"
    P1="$(free_port)"; P2="$(free_port)"
    start_api a1 "$P1" true
    start_api a2 "$P2" true
    GW="$(free_port)"
    start_gateway "$GW" "127.0.0.1:$P1,127.0.0.1:$P2"
    "$LOADGEN_BIN" queue-rush --target "http://127.0.0.1:$GW" --event "$EVENT" \
        --ws-target "http://127.0.0.1:$P1,http://127.0.0.1:$P2" \
        --fans "${QFANS:-100000}" --rate "${QRATE:-2000}" --ramp 10 --duration 900 \
        --max-run 1500 --max-wait 1500 --seed 11 \
        --subscribe-share "${QSUBS_SHARE:-0.2}" --poll-secs 50 --open-after-joined \
        --admission-rate "${QADMIT:-1000}" --admission-capacity 5000 --dwell-ms 500 \
        --workers "${WORKERS:-3}" --source-ips 250 --max-in-flight 2048 --signup-concurrency 32 \
        --watch "api1=${API_PID_a1},api2=${API_PID_a2},gateway=${GATEWAY_PID},$WATCH_COMMON" \
        --threshold 'error-rate<1%' --threshold 'sub.lag.p99<1s' \
        --report-dir "$REPORT_DIR"
    ;;
seats)
    export HOLD_DURATION_SECS=120 ADMISSION_TTL_SECS=600 DB_MAX_CONNECTIONS=20
    ADMIT_FLAGS=(--admission-rate "${SADMIT:-200}" --admission-capacity "${SCAP:-500}")
    case "${ADMISSION:-pinned}" in
    autopilot)
        # The load generator sets nothing: setting a rate or cap by hand pins the event.
        ADMIT_FLAGS=()
        export AUTOPILOT_ENABLED=true QUEUE_ADMISSION_RATE="${SADMIT:-200}" \
            QUEUE_ADMISSION_CAPACITY="${SCAP:-500}" AUTOPILOT_MAX_RATE="${SADMIT_MAX:-1000}" \
            AUTOPILOT_MAX_CAPACITY="${SCAP_MAX:-10000}" AUTOPILOT_RATE_STEP="${SADMIT_STEP:-50}" \
            AUTOPILOT_CAPACITY_STEP="${SCAP_STEP:-250}" AUTOPILOT_INTERVAL_MS="${AP_INTERVAL_MS:-2000}"
        ;;
    off) export AUTOPILOT_ENABLED=false ;;
    pinned) ;;
    *) echo "ADMISSION is pinned, autopilot or off" >&2; exit 2 ;;
    esac
    EVENT="$(seed_event "${SEATS:-5000}")"
    P1="$(free_port)"
    start_api a1 "$P1" true
    GW="$(free_port)"
    start_gateway "$GW" "127.0.0.1:$P1"
    "$LOADGEN_BIN" seat-rush --target "http://127.0.0.1:$GW" --event "$EVENT" \
        --fans "${SFANS:-10000}" --rate "${SRATE:-500}" --ramp 5 --duration 300 --max-run 900 --max-wait 900 \
        --seed 13 "${ADMIT_FLAGS[@]}" \
        --subscribe-share 0.5 --poll-secs 5 --think-ms 200 \
        --workers "${WORKERS:-2}" --source-ips 250 --signup-concurrency 32 \
        --watch "api=${API_PID_a1},gateway=${GATEWAY_PID},$WATCH_COMMON" \
        --threshold 'error-rate<1%' \
        --report-dir "$REPORT_DIR"
    ;;
chaos)
    # The seat rush with parts failing mid-run (issue 16): Redis and Postgres of the stack's
    # own (so they can be killed without touching the machine's), two API instances behind
    # the gateway, the autopilot admitting; chaos.sh injects each fault of CHAOS.
    export HOLD_DURATION_SECS=120 ADMISSION_TTL_SECS=600 DB_MAX_CONNECTIONS=20
    export AUTOPILOT_ENABLED=true QUEUE_ADMISSION_RATE="${SADMIT:-200}" \
        QUEUE_ADMISSION_CAPACITY="${SCAP:-500}" AUTOPILOT_MAX_RATE="${SADMIT_MAX:-1000}" \
        AUTOPILOT_MAX_CAPACITY="${SCAP_MAX:-10000}" AUTOPILOT_RATE_STEP="${SADMIT_STEP:-50}" \
        AUTOPILOT_CAPACITY_STEP="${SCAP_STEP:-250}" AUTOPILOT_INTERVAL_MS="${AP_INTERVAL_MS:-2000}"
    # The gateway stops as deployed (gateway.example.toml: grace 5 s, then 10 s), not as the
    # other runs' stacks (2 s, 1 s), which cut requests still running when the old gateway
    # of an upgrade exits (a confirmPayment cut, then IDEMPOTENCY_IN_PROGRESS, 2026-12-04).
    export GATEWAY_GRACE_PERIOD_SECS="${GATEWAY_GRACE_PERIOD_SECS:-5}" \
        GATEWAY_GRACEFUL_SHUTDOWN_TIMEOUT_SECS="${GATEWAY_GRACEFUL_SHUTDOWN_TIMEOUT_SECS:-10}"
    start_private_redis "$(free_port)"
    start_private_postgres "$(free_port)"
    EVENT="$(seed_event "${SEATS:-5000}")"
    P1="$(free_port)"; P2="$(free_port)"
    start_api a1 "$P1" true
    start_api a2 "$P2" true
    GW="$(free_port)"
    start_gateway "$GW" "127.0.0.1:$P1,127.0.0.1:$P2"
    export CHAOS_DIR="$STACK_DIR" CHAOS_BIN="$BIN"
    "$LOADGEN_BIN" seat-rush --target "http://127.0.0.1:$GW" --event "$EVENT" \
        --fans "${SFANS:-10000}" --rate "${SRATE:-500}" --ramp 5 --duration 300 --max-run 900 --max-wait 900 \
        --seed 13 --subscribe-share 0.5 --poll-secs 5 --think-ms 200 \
        --workers "${WORKERS:-2}" --source-ips 250 --signup-concurrency 32 \
        --chaos "${CHAOS:-redis-restart@30s,api-kill@60s,postgres-restart@90s,gateway-upgrade@120s}" \
        --chaos-command "$ROOT/load-tests/chaos.sh" \
        --watch "api1=${API_PID_a1},api2=${API_PID_a2},gateway=${GATEWAY_PID}" \
        --threshold 'error-rate<1%' \
        --report-dir "$REPORT_DIR"
    ;;
*) echo "queue, seats or chaos" >&2; exit 2 ;;
esac
