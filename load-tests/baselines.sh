#!/usr/bin/env bash
# Baselines side by side, in one run on this machine: what the standard tools get from the
# same building blocks, next to what the project gets, as ratios (absolute numbers drift
# between runs; the ratios are what to compare). Appends the results to BENCHMARKS.md under
# `## Load tests and baselines`.
#
#   redis-benchmark  EVALSHA of the queue's real join script   vs  joinQueue over GraphQL (API, gateway)
#   pgbench          the conditional hold UPDATE + release      vs  lockSeats + releaseSeats (API)
#   wrk              origin and nginx `proxy_pass` (temp config) vs  { __typename } direct, via nginx, via the gateway
#
#   load-tests/baselines.sh            # ~3 minutes after a release build
#   SECONDS_EACH=15 load-tests/baselines.sh
set -euo pipefail

PROFILE="${PROFILE:-release}"
source "$(dirname "${BASH_SOURCE[0]}")/stack.sh"
SECS="${SECONDS_EACH:-10}"
NGINX_PIDFILE="$STACK_DIR/nginx.pid"
PGBENCH_DB="lt_pgbench_${STACK_ID}"
cleanup() {
    [ -f "$NGINX_PIDFILE" ] && kill "$(cat "$NGINX_PIDFILE")" 2>/dev/null || true
    psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $PGBENCH_DB" >/dev/null 2>&1 || true
    redis-cli -u "$REDIS_URL" --scan --pattern 'ltbench{evt:1}:*' | xargs -r -n 500 redis-cli -u "$REDIS_URL" del >/dev/null 2>&1 || true
    stack_down
}
trap cleanup EXIT

for tool in redis-benchmark pgbench nginx wrk python3 curl; do
    command -v "$tool" >/dev/null || { log "missing $tool"; exit 1; }
done
stack_build
EVENT="$(seed_event 5000)"
API_PORT="$(free_port)"
start_api api "$API_PORT"
API="http://127.0.0.1:$API_PORT"
GW_PORT="$(free_port)"
# Per-IP limits off: this measures the proxy's cost, not its rate limiter.
GATEWAY_PUBLIC_RATE_PER_SEC=0 GATEWAY_SALE_RATE_PER_SEC=0 start_gateway "$GW_PORT" "127.0.0.1:$API_PORT"
GW="http://127.0.0.1:$GW_PORT"
RESULTS="$STACK_DIR/results.txt"
: >"$RESULTS"
result() { printf '%s\t%s\n' "$1" "$2" >>"$RESULTS"; log "$1: $2"; }
json_field() { python3 -c 'import json,sys; d=json.loads(sys.stdin.read().strip().splitlines()[-1]); print(d'"$1"')'; }
LT=("$LOADGEN_BIN")
WATCH="api=$API_PID_api,gateway=$GATEWAY_PID,redis-server"

# --- Redis: the queue's own join script, as loaded by the API -------------------------------
# One join through the API loads the script into Redis's cache; then redis-benchmark calls it.
SHA="$("${LT[@]}" join-script-sha)"
"${LT[@]}" max-rate --op join --target "$API" --event "$EVENT" --concurrency 4 --seconds 1 >/dev/null
KEYS=()
for k in wait pre seq meta adm tok alive out clock; do KEYS+=("ltbench{evt:1}:$k"); done
rb="$(redis-benchmark -q -n 200000 -c 50 -r 10000000 EVALSHA "$SHA" 9 "${KEYS[@]}" 'fan:__rand_int__' 0 2>&1 | tr '\r' '\n' | grep -o '[0-9.]* requests per second' | tail -1 | cut -d' ' -f1)"
result "redis-benchmark EVALSHA join (c=50)" "$rb"
join_api="$("${LT[@]}" max-rate --op join --target "$API" --event "$EVENT" --concurrency 64 --seconds "$SECS" --watch "$WATCH")"
join_gw="$("${LT[@]}" max-rate --op join --target "$GW" --event "$EVENT" --concurrency 64 --seconds "$SECS" --watch "$WATCH")"
log "max-rate join, API: $join_api"; log "max-rate join, gateway: $join_gw"
result "joinQueue via API (c=64)" "$(json_field "['rate']" <<<"$join_api")"
result "joinQueue via gateway (c=64)" "$(json_field "['rate']" <<<"$join_gw")"

# --- Postgres: the conditional hold UPDATE -------------------------------------------------
psql -q -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE $PGBENCH_DB" >/dev/null
psql -q -h 127.0.0.1 -U postgres -d "$PGBENCH_DB" >/dev/null <<'SQL'
CREATE TABLE seats (id bigint PRIMARY KEY, event_id bigint NOT NULL, status text NOT NULL,
                    hold_id uuid, held_until timestamptz, version int NOT NULL DEFAULT 0);
INSERT INTO seats (id, event_id, status) SELECT g, 1, 'AVAILABLE' FROM generate_series(1, 50000) g;
VACUUM ANALYZE seats;
SQL
cat >"$STACK_DIR/hold.sql" <<'SQL'
\set id random(1, 50000)
UPDATE seats SET status = 'HELD', hold_id = gen_random_uuid(), held_until = now() + interval '10 minutes', version = version + 1 WHERE id = :id AND event_id = 1 AND (status = 'AVAILABLE' OR (status = 'HELD' AND held_until < now()));
UPDATE seats SET status = 'AVAILABLE', hold_id = NULL, held_until = NULL, version = version + 1 WHERE id = :id AND status = 'HELD';
SQL
pg="$(pgbench -n -c 16 -j 2 -T "$SECS" -M prepared -f "$STACK_DIR/hold.sql" -h 127.0.0.1 -U postgres "$PGBENCH_DB" 2>&1 | grep -o 'tps = [0-9.]*' | head -1 | cut -d' ' -f3)"
result "pgbench hold+release pairs/s (c=16)" "$pg"
hold_api="$("${LT[@]}" max-rate --op hold --target "$API" --event "$EVENT" --concurrency 16 --hold-fans 64 --seconds "$SECS" --watch "$WATCH")"
log "max-rate hold, API: $hold_api"
result "lockSeats+releaseSeats pairs/s via API (c=16)" "$(json_field "['releases']/d['seconds']" <<<"$hold_api")"
result "lockSeats attempts/s via API (c=16)" "$(json_field "['rate']" <<<"$hold_api")"

# --- nginx and wrk: a plain proxy hop ------------------------------------------------------
ORIGIN_PORT="$(free_port)"; PROXY_PORT="$(free_port)"; NGINX_API_PORT="$(free_port)"
BODY="$(head -c 200 /dev/zero | tr '\0' 'x')"
cat >"$STACK_DIR/nginx.conf" <<NGINX
worker_processes 1;
pid $NGINX_PIDFILE;
error_log $STACK_DIR/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    upstream origin { server 127.0.0.1:$ORIGIN_PORT; keepalive 128; }
    upstream api { server 127.0.0.1:$API_PORT; keepalive 128; }
    server { listen 127.0.0.1:$ORIGIN_PORT; location / { return 200 '$BODY'; } }
    server { listen 127.0.0.1:$PROXY_PORT; location / { proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection ""; } }
    server { listen 127.0.0.1:$NGINX_API_PORT; location / { proxy_pass http://api; proxy_http_version 1.1; proxy_set_header Connection ""; } }
}
NGINX
nginx -c "$STACK_DIR/nginx.conf" -p "$STACK_DIR" -e "$STACK_DIR/nginx-error.log"
sleep 0.5
wrk_rps() { wrk -t2 -c64 -d"${SECS}s" --latency "$@" 2>&1 | awk '/Requests\/sec/ {print $2}'; }
cat >"$STACK_DIR/typename.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"query":"{ __typename }"}'
wrk.headers["Content-Type"] = "application/json"
LUA
result "wrk origin (static 200 B)" "$(wrk_rps "http://127.0.0.1:$ORIGIN_PORT/")"
result "wrk nginx proxy -> origin" "$(wrk_rps "http://127.0.0.1:$PROXY_PORT/")"
result "wrk {__typename} API direct" "$(wrk_rps -s "$STACK_DIR/typename.lua" "$API/graphql")"
result "wrk {__typename} nginx -> API" "$(wrk_rps -s "$STACK_DIR/typename.lua" "http://127.0.0.1:$NGINX_API_PORT/graphql")"
result "wrk {__typename} gateway -> API" "$(wrk_rps -s "$STACK_DIR/typename.lua" "$GW/graphql")"

# --- Write the ratios ----------------------------------------------------------------------
python3 - "$RESULTS" "$ROOT/BENCHMARKS.md" "$PROFILE" "$SECS" <<'PY'
import sys, datetime, subprocess
results, bench, profile, secs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
r = {}
for line in open(results):
    k, v = line.rstrip("\n").split("\t")
    try: r[k] = float(v)
    except ValueError: r[k] = float("nan")
def ratio(a, b):
    return f"{r[a] / r[b]:.2f}x" if r.get(b) else "n/a"
load = open("/proc/loadavg").read().split()[0]
rows = [
    ("queue join: `redis-benchmark` EVALSHA of the real join script, c=50", "redis-benchmark EVALSHA join (c=50)", None),
    ("queue join: `joinQueue` over GraphQL, API direct, c=64", "joinQueue via API (c=64)", "redis-benchmark EVALSHA join (c=50)"),
    ("queue join: `joinQueue` through the gateway, c=64", "joinQueue via gateway (c=64)", "redis-benchmark EVALSHA join (c=50)"),
    ("hold: `pgbench` conditional hold UPDATE + release, c=16 (pairs/s)", "pgbench hold+release pairs/s (c=16)", None),
    ("hold: `lockSeats` + `releaseSeats` over GraphQL, API direct, c=16 (pairs/s)", "lockSeats+releaseSeats pairs/s via API (c=16)", "pgbench hold+release pairs/s (c=16)"),
    ("proxy: `wrk` origin (nginx static 200 B)", "wrk origin (static 200 B)", None),
    ("proxy: `wrk` nginx `proxy_pass` -> origin", "wrk nginx proxy -> origin", "wrk origin (static 200 B)"),
    ("proxy: `wrk` `{ __typename }` API direct", "wrk {__typename} API direct", None),
    ("proxy: `wrk` `{ __typename }` nginx -> API", "wrk {__typename} nginx -> API", "wrk {__typename} API direct"),
    ("proxy: `wrk` `{ __typename }` gateway -> API", "wrk {__typename} gateway -> API", "wrk {__typename} API direct"),
]
text = open(bench).read()
out = []
if "## Load tests and baselines" not in text:
    out.append("\n## Load tests and baselines\n\nWritten by `load-tests/baselines.sh` (one run measures the standard tools and the project's\nequivalents back to back on the same box, so the ratios are what to compare) and by the\nload-test runs described below. The load generator shares the two cores with everything else.\n")
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
out.append(f"\n### Baselines run {now} ({profile} build, {secs} s each, load average {load} at the end)\n")
out.append("| what | req/s | ratio |\n|---|---|---|")
for label, key, base in rows:
    v = r.get(key, float("nan"))
    out.append(f"| {label} | {v:,.0f} | {ratio(key, base) if base else 'baseline'} |")
g, n = r.get("wrk {__typename} gateway -> API"), r.get("wrk {__typename} nginx -> API")
if g and n:
    out.append(f"\nGateway vs nginx in front of the same API: {g / n:.2f}x the requests per second.")
open(bench, "a").write("\n".join(out) + "\n")
print("\n".join(out))
PY
log "appended to BENCHMARKS.md"
