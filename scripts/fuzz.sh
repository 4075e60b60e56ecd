#!/usr/bin/env bash
# Runs the fuzz test (gateway/tests/gate/fuzz/) with a long budget: generated GraphQL
# documents, variables, headers and tokens against both schemas, through the gateway, over
# HTTP and WebSocket. Finds or starts Postgres and Redis first, like test.sh.
#
#   scripts/fuzz.sh                      20,000 cases, a new seed (printed)
#   FUZZ_CASES=3000 scripts/fuzz.sh      another budget
#   FUZZ_SEED=1234 scripts/fuzz.sh       the same inputs again
#   FUZZ_SEED=1234 FUZZ_ONLY=87 scripts/fuzz.sh   one case again (its number from a report)
#   FUZZ_VERBOSE=1 scripts/fuzz.sh       a line per request and answer
#
# The test prints a summary line (cases per transport, statuses, error codes, WebSocket
# frames and closes) and, for each kind of failure, the exact input; the case being sent is
# always in $TMPDIR/gateway-fuzz-<seed>.last-case.txt, so a crash still leaves it behind.
# CI runs the same test with its default budget of 300 cases.

source "$(dirname "$0")/lib.sh"

prepare_tests
export FUZZ_CASES="${FUZZ_CASES:-20000}"

cd "$ROOT"
log "fuzzing with $FUZZ_CASES cases${FUZZ_SEED:+, seed $FUZZ_SEED}"
if cargo nextest --version >/dev/null 2>&1; then
    exec cargo nextest run --workspace --no-capture --no-fail-fast "$@" -E 'test(fuzz::)'
else
    exec cargo test --workspace --test gate "$@" -- --nocapture fuzz::
fi
