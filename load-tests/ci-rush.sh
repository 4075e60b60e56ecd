#!/usr/bin/env bash
# CI's short rush: builds what it needs, starts a private copy of the system (fresh database
# tickets_rush_<id>, its own Redis prefix, one API, the gateway in front), seeds an event,
# runs a seat rush of FANS fans on SEATS seats with thresholds and the audit, stops
# everything, cleans up, and exits non-zero if the audit or a threshold fails.
#
#   load-tests/ci-rush.sh                 # 2,000 fans, 500 seats (debug build, ~2 min)
#   FANS=5000 SEATS=2000 PROFILE=release load-tests/ci-rush.sh
#   KEEP_STACK=1 ...                      # keep the database, Redis keys and logs
set -euo pipefail

PROFILE="${PROFILE:-debug}"   # CI has the debug build from the tests already
source "$(dirname "${BASH_SOURCE[0]}")/stack.sh"
trap stack_down EXIT

FANS="${FANS:-2000}"
SEATS="${SEATS:-500}"
RATE="${RATE:-100}"
# Latency bounds for a debug build on a shared 2-core box: they catch a collapse (a lock
# convoy, a pool starved), not a 10% regression; the audit is what must never fail.
P99="${P99:-10s}"
REPORT_DIR="${REPORT_DIR:-$ROOT/target/load-tests/ci-rush}"

stack_build
# Short holds and admissions so walk-aways free their seats within the run; a visible cap.
export HOLD_DURATION_SECS="${HOLD_DURATION_SECS:-20}" ADMISSION_TTL_SECS="${ADMISSION_TTL_SECS:-60}"
export QUEUE_UPDATE_SECS="${QUEUE_UPDATE_SECS:-2}" DB_MAX_CONNECTIONS="${DB_MAX_CONNECTIONS:-20}"
log "seeding $SEATS seats into tickets_rush_${STACK_ID}"
EVENT="$(seed_event "$SEATS")"
API_PORT="$(free_port)"
start_api api "$API_PORT"
TARGET="http://127.0.0.1:$API_PORT"
GATEWAY_NOTE=""
GW_PORT="$(free_port)"
if [ -x "$BIN/gateway" ] && start_gateway "$GW_PORT" "127.0.0.1:$API_PORT"; then
    TARGET="http://127.0.0.1:$GW_PORT"
else
    GATEWAY_NOTE="the gateway could not start: the rush targets the API directly"
    log "$GATEWAY_NOTE"
fi

WATCH="api=${API_PID_api},redis-server,postgres"
[ -n "${GATEWAY_PID:-}" ] && WATCH="$WATCH,gateway=$GATEWAY_PID"
log "rush: $FANS fans at ${RATE}/s on $SEATS seats through $TARGET"
set +e
"$LOADGEN_BIN" seat-rush \
    --target "$TARGET" --event "$EVENT" \
    --fans "$FANS" --rate "$RATE" --ramp 5 --duration 60 --max-run 110 --seed 7 \
    --admission-rate 150 --admission-capacity 300 \
    --subscribe-share 0.5 --poll-secs 2 --think-ms 150 \
    --watch "$WATCH" \
    --threshold 'error-rate<1%' --threshold "lockSeats.p99<$P99" \
    --threshold "joinQueue.p99<$P99" --threshold 'sub.lag.p99<2s' \
    --threshold 'fans.booked.count>50' \
    --report-dir "$REPORT_DIR" --quiet
status=$?
set -e
[ -n "$GATEWAY_NOTE" ] && log "note: $GATEWAY_NOTE"
if [ "$status" -eq 0 ]; then log "ci-rush: PASS (report: $REPORT_DIR/report.html)"; else
    log "ci-rush: FAIL (status $status; report: $REPORT_DIR/report.html)"; fi
exit "$status"
