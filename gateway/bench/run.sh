#!/usr/bin/env bash
# Gateway benchmark: the same upstream (one graphql-api instance, release build) measured
# with wrk directly, through nginx as a plain reverse proxy, through the gateway with a
# valid admission token, and through the gateway refused (no token). Prints req/s, p50/p99,
# proxy CPU per request, the API's CPU per request behind each, and the ratios
# gateway/nginx and gateway/direct.
#
# Two kinds of load, each in several rounds that take turns (direct, nginx, gateway,
# refused, ...), so a slow spell of a shared machine hits every target alike; the ratios
# are taken within each round, and the medians over rounds are printed:
# - saturating: every connection sends its next request as soon as the answer arrives
#   (requests/s is the capacity of the path);
# - paced: every connection waits PACED_DELAY_MS between requests, the same offered rate
#   through nginx and through the gateway, well under both capacities (the latency a fan
#   feels on a busy but not overloaded proxy).
#
# Loopback only, bounded time (about 2 minutes of load after the build). Needs wrk, nginx,
# redis-cli, psql, curl, python3, Postgres on 127.0.0.1:5432 and Redis on 127.0.0.1:6379.
#
# Environment: ROUNDS (default 3), DURATION (seconds per measurement, default 5),
# CONNECTIONS (default 64), THREADS (wrk threads, default 2), PACED_DELAY_MS (default 20:
# about 3,000 requests/s with 64 connections), GATEWAY_THREADS (default 1), SKIP_BUILD=1
# (use the existing release binaries), CARGO_TARGET_DIR (default ./target). Any other
# gateway setting can be passed as GATEWAY_<KEY>, e.g. GATEWAY_WORK_STEALING=false.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-5}"
PACED_DELAY_MS="${PACED_DELAY_MS:-20}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"
GATEWAY_THREADS="${GATEWAY_THREADS:-1}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
KEYS="${ADMISSION_TOKEN_KEYS:-dev:dev-only-admission-key-change-me}"
PREFIX="bench:gw:$$:"
DB="tickets_gw_bench"
WORK="$(mktemp -d /tmp/gateway-bench.XXXXXX)"
PIDS=()

cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  redis-cli --scan --pattern "${PREFIX}*" | xargs -r redis-cli del >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

for tool in wrk nginx redis-cli psql curl python3; do
  command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }
done

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_http() { # url
  for _ in $(seq 1 200); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "not answering: $1" >&2; return 1
}

# Sum of user+system CPU ticks of the given pids (and their threads).
cpu_ticks() {
  local total=0
  for pid in "$@"; do
    read -r -a stat < "/proc/$pid/stat"
    total=$((total + stat[13] + stat[14]))
  done
  echo "$total"
}

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  echo "== building release binaries (LTO fat, codegen-units 1)"
  cargo build --release -p graphql-api -p gateway
fi
API_BIN="$TARGET/release/graphql-api"
GATEWAY_BIN="$TARGET/release/gateway"

API_PORT="$(free_port)"; NGINX_PORT="$(free_port)"; GATEWAY_PORT="$(free_port)"
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB"
export REDIS_URL="redis://127.0.0.1:6379/0" REDIS_KEY_PREFIX="$PREFIX" ADMISSION_TOKEN_KEYS="$KEYS"

echo "== API on :$API_PORT (database $DB)"
"$API_BIN" seed --seats 1000 --no-demo > "$WORK/seed.log" 2>&1
EVENT="$(psql -qtA "$DATABASE_URL" -c "SELECT id FROM events WHERE slug = 'load-test-1000'")"
RUST_LOG=warn API_BIND="127.0.0.1:$API_PORT" "$API_BIN" serve > "$WORK/api.log" 2>&1 &
PIDS+=($!); API_PID=$!
wait_http "http://127.0.0.1:$API_PORT/healthz"

# An admission as the queue hands it out: a record in Redis and an HS256 token naming it.
JTI="bench-$$"
TOKEN="$(python3 - "$KEYS" "$EVENT" "$JTI" <<'PY'
import base64, hashlib, hmac, json, sys, time
keys, event, jti = sys.argv[1], int(sys.argv[2]), sys.argv[3]
kid, secret = keys.split(",")[0].split(":", 1)
b64 = lambda raw: base64.urlsafe_b64encode(raw).rstrip(b"=")
now = int(time.time())
header = {"alg": "HS256", "typ": "JWT", "kid": kid}
claims = {"sub": "00000000-0000-7000-8000-00000000be4c", "evt": event, "jti": jti, "iat": now, "exp": now + 3600,
          "cap": 4, "aud": "tickets-sale", "iss": "tickets"}
signing = b64(json.dumps(header).encode()) + b"." + b64(json.dumps(claims).encode())
signature = b64(hmac.new(secret.encode(), signing, hashlib.sha256).digest())
print((signing + b"." + signature).decode())
PY
)"
redis-cli set "${PREFIX}adm:{evt:$EVENT}:$JTI" 00000000-0000-7000-8000-00000000be4c PX 3600000 > /dev/null

echo "== nginx on :$NGINX_PORT (plain proxy_pass, keepalive pool 128, access log off)"
mkdir -p "$WORK/nginx"
cat > "$WORK/nginx/nginx.conf" <<EOF
worker_processes auto;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
  upstream api { server 127.0.0.1:$API_PORT; keepalive 128; }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / {
      proxy_pass http://api;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
EOF
nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' &
PIDS+=($!); NGINX_PID=$!
wait_http "http://127.0.0.1:$NGINX_PORT/healthz"

echo "== gateway on :$GATEWAY_PORT (threads $GATEWAY_THREADS, mimalloc, rate limits and access log off)"
cat > "$WORK/gateway.toml" <<EOF
listen = "127.0.0.1:$GATEWAY_PORT"
upstreams = ["127.0.0.1:$API_PORT"]
threads = $GATEWAY_THREADS
public_rate_per_sec = 0
sale_rate_per_sec = 0
access_log = false
grace_period_secs = 0
graceful_shutdown_timeout_secs = 1
EOF
RUST_LOG=warn "$GATEWAY_BIN" --config "$WORK/gateway.toml" > "$WORK/gateway.log" 2>&1 &
PIDS+=($!); GATEWAY_PID=$!
wait_http "http://127.0.0.1:$GATEWAY_PORT/healthz"

SALE_PATH="/sale/$EVENT/graphql"
cat > "$WORK/with-token.lua" <<EOF
wrk.method = "POST"
wrk.body = '{"query":"{ __typename }"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $TOKEN"
EOF
cat > "$WORK/no-token.lua" <<EOF
wrk.method = "POST"
wrk.body = '{"query":"{ __typename }"}'
wrk.headers["Content-Type"] = "application/json"
EOF

# Sanity: the token passes, and no token is refused, before anything is measured.
status() { curl -s -o /dev/null -w '%{http_code}' -X POST -H 'content-type: application/json' "$@" \
  --data '{"query":"{ __typename }"}'; }
[[ "$(status -H "authorization: Bearer $TOKEN" "http://127.0.0.1:$GATEWAY_PORT$SALE_PATH")" == 200 ]] \
  || { echo "the gateway refused the bench token:" >&2
       curl -s -X POST -H 'content-type: application/json' -H "authorization: Bearer $TOKEN" \
         --data '{"query":"{ __typename }"}' "http://127.0.0.1:$GATEWAY_PORT$SALE_PATH" >&2
       echo >&2; cat "$WORK/gateway.log" >&2; exit 1; }
[[ "$(status "http://127.0.0.1:$GATEWAY_PORT$SALE_PATH")" == 401 ]] \
  || { echo "the gateway did not refuse a request without a token" >&2; exit 1; }

RESULTS="$WORK/results.tsv"
: > "$RESULTS"
cp "$WORK/with-token.lua" "$WORK/paced.lua"
echo "function delay() return $PACED_DELAY_MS end" >> "$WORK/paced.lua"

measure() { # round name url script proxy-pids...
  local round="$1" name="$2" url="$3" script="$4"; shift 4
  local proxy_pids=("$@")
  wrk -t"$THREADS" -c"$CONNECTIONS" -d1s -s "$script" "$url" > /dev/null # warm-up
  local before=0 after=0 api_before api_after
  ((${#proxy_pids[@]})) && before="$(cpu_ticks "${proxy_pids[@]}")"
  api_before="$(cpu_ticks "$API_PID")"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$script" "$url" > "$WORK/$name.txt"
  ((${#proxy_pids[@]})) && after="$(cpu_ticks "${proxy_pids[@]}")"
  api_after="$(cpu_ticks "$API_PID")"
  python3 - "$WORK/$name.txt" "$round" "$name" "$((after - before))" "$(getconf CLK_TCK)" \
    "$((api_after - api_before))" >> "$RESULTS" <<'PY'
import re, sys
text, round_, name, ticks, hz = open(sys.argv[1]).read(), sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
api_ticks = int(sys.argv[6])
def ms(label):
    m = re.search(r"^\s*%s%%\s+([\d.]+)(us|ms|s)\s*$" % label, text, re.M)
    value, unit = float(m.group(1)), m.group(2)
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
total = int(re.search(r"(\d+) requests in", text).group(1))
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
failed = sum(int(n) for n in errors.groups()) if errors else 0
cpu_us = ticks / hz * 1e6 / total if ticks else 0.0
api_us = api_ticks / hz * 1e6 / total
print(f"{round_}\t{name}\t{rps:.0f}\t{ms('50'):.3f}\t{ms('99'):.3f}\t{cpu_us:.1f}\t{non2xx.group(1) if non2xx else 0}\t{total}\t{failed}\t{api_us:.1f}")
PY
  printf '   round %s %-14s %s\n' "$round" "$name" "$(tail -1 "$RESULTS" | cut -f3-5 | tr '\t' ' ')"
}

NGINX_ALL=("$NGINX_PID" $(pgrep -P "$NGINX_PID" || true))
echo "== measuring: $ROUNDS rounds of wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s (1 s warm-up each)," \
  "POST $SALE_PATH { __typename }; paced: ${PACED_DELAY_MS} ms between a connection's requests"
echo "   (columns: req/s, p50 ms, p99 ms)"
for round in $(seq 1 "$ROUNDS"); do
  measure "$round" direct "http://127.0.0.1:$API_PORT$SALE_PATH" "$WORK/with-token.lua"
  measure "$round" nginx "http://127.0.0.1:$NGINX_PORT$SALE_PATH" "$WORK/with-token.lua" "${NGINX_ALL[@]}"
  measure "$round" gateway "http://127.0.0.1:$GATEWAY_PORT$SALE_PATH" "$WORK/with-token.lua" "$GATEWAY_PID"
  measure "$round" refused "http://127.0.0.1:$GATEWAY_PORT$SALE_PATH" "$WORK/no-token.lua" "$GATEWAY_PID"
  measure "$round" paced-nginx "http://127.0.0.1:$NGINX_PORT$SALE_PATH" "$WORK/paced.lua" "${NGINX_ALL[@]}"
  measure "$round" paced-gateway "http://127.0.0.1:$GATEWAY_PORT$SALE_PATH" "$WORK/paced.lua" "$GATEWAY_PID"
done
# Gateway metrics after the runs: the caches should answer nearly every lookup.
curl -s "http://127.0.0.1:$GATEWAY_PORT/metrics" > "$WORK/metrics.txt"
metric() { awk -v name="$1" '$1 == name {print $2}' "$WORK/metrics.txt"; }
RECORD_HITS="$(metric gateway_token_cache_hit_ratio)"
VERIFIED_HITS="$(metric gateway_verified_token_hits_total)"
VERIFIED_MISSES="$(metric gateway_verified_token_misses_total)"
echo "== gateway outcomes (warm-ups included)"
awk '/^gateway_(requests_total|redis_errors_total)/ && $2 > 0 {print "   " $0}' "$WORK/metrics.txt"

python3 - "$RESULTS" "$RECORD_HITS" "${VERIFIED_HITS:-0}" "${VERIFIED_MISSES:-0}" <<'PY'
import statistics, sys
from collections import defaultdict
rows = defaultdict(dict)  # round -> name -> fields
for line in open(sys.argv[1]):
    round_, name, rps, p50, p99, cpu, non2xx, total, failed, api = line.rstrip("\n").split("\t")
    rows[round_][name] = dict(rps=float(rps), p50=float(p50), p99=float(p99), cpu=float(cpu),
                              non2xx=int(non2xx), total=int(total), failed=int(failed),
                              api=float(api))
rounds = sorted(rows)
median = statistics.median
def col(name, field):
    return [rows[r][name][field] for r in rounds]
labels = {
    "direct": "direct to the API",
    "nginx": "through nginx (proxy_pass)",
    "gateway": "through the gateway, valid token",
    "refused": "through the gateway, no token (401)",
    "paced-nginx": "paced, through nginx",
    "paced-gateway": "paced, through the gateway",
}
print()
print(f"Medians over {len(rounds)} rounds:")
print()
print("| target | req/s | p50 | p99 | proxy CPU per request | API CPU per request | non-2xx | socket errors |")
print("|---|---|---|---|---|---|---|---|")
for key, label in labels.items():
    cpu = median(col(key, "cpu"))
    cpu_cell = f"{cpu:.1f} us" if cpu > 0 else "-"
    api = median(col(key, "api"))
    api_cell = f"{api:.1f} us" if key != "refused" else "-"
    print(f"| {label} | {median(col(key, 'rps')):,.0f} | {median(col(key, 'p50')):.2f} ms "
          f"| {median(col(key, 'p99')):.2f} ms | {cpu_cell} | {api_cell} | {sum(col(key, 'non2xx')):,} of "
          f"{sum(col(key, 'total')):,} | {sum(col(key, 'failed')):,} |")
def ratio(a, b, field="rps"):
    values = [rows[r][a][field] / rows[r][b][field] for r in rounds]
    return median(values), min(values), max(values)
print()
for text, (a, b, field) in {
    "gateway/nginx req/s": ("gateway", "nginx", "rps"),
    "gateway/direct req/s": ("gateway", "direct", "rps"),
    "refused/gateway req/s": ("refused", "gateway", "rps"),
    "gateway/nginx proxy CPU per request": ("gateway", "nginx", "cpu"),
    "API CPU per request behind the gateway/behind nginx": ("gateway", "nginx", "api"),
}.items():
    mid, low, high = ratio(a, b, field)
    print(f"{text}: {mid:.2f}x (rounds {low:.2f}-{high:.2f})")
added = [rows[r]["paced-gateway"][q] - rows[r]["paced-nginx"][q] for r in rounds for q in ("p50",)]
added99 = [rows[r]["paced-gateway"]["p99"] - rows[r]["paced-nginx"]["p99"] for r in rounds]
print(f"paced, gateway minus nginx latency: p50 {median(added) * 1000:+.0f} us, "
      f"p99 {median(added99) * 1000:+.0f} us (at {median(col('paced-nginx', 'rps')):,.0f} "
      f"vs {median(col('paced-gateway', 'rps')):,.0f} req/s)")
print(f"token-record cache hit ratio: {float(sys.argv[2] or 0):.4f}")
hits, misses = float(sys.argv[3]), float(sys.argv[4])
if hits + misses > 0:
    print(f"verified-token cache hit ratio: {hits / (hits + misses):.4f}")
PY
