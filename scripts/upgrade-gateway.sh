#!/usr/bin/env bash
# Replaces a running gateway with a new process (a new binary or configuration) without
# refusing a connection or failing a request, by Pingora's graceful upgrade: the new process
# starts with --upgrade and waits on `upgrade_sock`; the old one gets SIGQUIT, hands over its
# listening socket, keeps serving 5 s while closing each connection after its answer, then
# stops accepting and exits after `grace_period_secs`.
#
#   scripts/upgrade-gateway.sh                 the gateway scripts/up.sh started (its pid file)
#   scripts/upgrade-gateway.sh --pid 1234 -- --config /etc/gateway.toml
#   scripts/upgrade-gateway.sh --pid-file run/gateway.pid --bin target/release/gateway \
#       --log logs/gateway.log -- --config gateway/gateway.example.toml
#
# Arguments after -- go to the new gateway (default: up.sh's, `--config
# gateway/gateway.example.toml` with GATEWAY_LISTEN and GATEWAY_UPSTREAMS as up.sh sets them).
# The environment is passed on as it is: run this with the variables the old gateway was
# started with (GATEWAY_*, REDIS_URL, ADMISSION_TOKEN_KEYS...), and keep `listen` and
# `upgrade_sock` unchanged. --bin defaults to up.sh's build (PROFILE, default dev); --log
# (appended) to .local/logs/gateway.log. A pid file is rewritten with the new pid.
# Exit status 0 once the old process has exited and the new one alone answers /healthz.

source "$(dirname "$0")/lib.sh"

PROFILE="${PROFILE:-dev}"
old_pid=""
pid_file=""
bin="$ROOT/target/$([ "$PROFILE" = dev ] && echo debug || echo "$PROFILE")/gateway"
log_file="$LOCAL/logs/gateway.log"
args=()

while [ $# -gt 0 ]; do
    case "$1" in
        --pid) old_pid="${2:?--pid needs a pid}"; shift 2 ;;
        --pid-file) pid_file="${2:?--pid-file needs a file}"; shift 2 ;;
        --bin) bin="${2:?--bin needs a path}"; shift 2 ;;
        --log) log_file="${2:?--log needs a file}"; shift 2 ;;
        --) shift; args=("$@"); break ;;
        -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) warn "unknown argument: $1 (see --help)"; exit 2 ;;
    esac
done

fail() { warn "$*"; exit 1; }

# A child of whoever started it stays a zombie until reaped: exited, for us.
alive() {
    local state
    state="$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" || return 1
    [ -n "$state" ] && [ "$state" != Z ]
}

now_ms() { date +%s%3N; }

if [ -z "$old_pid" ]; then
    pid_file="${pid_file:-$LOCAL/run/gateway.pid}"
    [ -f "$pid_file" ] || fail "no pid file at $pid_file (give --pid or --pid-file)"
    old_pid="$(cat "$pid_file")"
fi
[[ "$old_pid" =~ ^[0-9]+$ ]] || fail "not a pid: $old_pid"
alive "$old_pid" || fail "no running process $old_pid"
# A stale pid file may name a process that reused the number: never signal a stranger.
[[ "$(cat "/proc/$old_pid/comm" 2>/dev/null)" == *gateway* ]] \
    || fail "process $old_pid is $(cat "/proc/$old_pid/comm" 2>/dev/null), not a gateway"
[ -x "$bin" ] || fail "no gateway binary at $bin (build it, or give --bin)"

if [ ${#args[@]} -eq 0 ]; then
    export GATEWAY_LISTEN="${GATEWAY_LISTEN:-127.0.0.1:${GATEWAY_PORT:-8000}}"
    export GATEWAY_UPSTREAMS="${GATEWAY_UPSTREAMS:-127.0.0.1:${API_PORT:-8080}}"
    args=(--config "$ROOT/gateway/gateway.example.toml")
fi

# The new process's own reading of its configuration: where it will wait, what it serves,
# and how long the old one may take to leave.
config_dump="$("$bin" "${args[@]}" --print-config)" \
    || fail "the new gateway refuses its configuration (above); nothing was changed"
setting() { sed -n "s/^ *$1: \"\{0,1\}\([^\"]*\)\"\{0,1\},\$/\1/p" <<<"$config_dump" | head -1; }
sock="$(setting upgrade_sock)"
listen="$(setting listen)"
grace="$(setting grace_period_secs)"
drain_timeout="$(setting graceful_shutdown_timeout_secs)"
[ -n "$sock" ] && [ -n "$listen" ] && [ -n "$grace" ] && [ -n "$drain_timeout" ] \
    || fail "could not read upgrade_sock, listen and the grace settings from --print-config"
host="${listen%:*}"
case "$host" in 0.0.0.0|"") host=127.0.0.1 ;; "[::]") host="[::1]" ;; esac
health="http://$host:${listen##*:}/healthz"

if [ -e "$sock" ]; then
    [ -S "$sock" ] || fail "$sock exists and is not a socket: upgrade_sock must name a free path"
    # Left by a new gateway that died while waiting; the one started below makes its own.
    warn "removing a stale upgrade socket $sock"
    rm -f "$sock"
fi

mkdir -p "$(dirname "$log_file")"
log "starting the new gateway ($bin --upgrade), log: $log_file"
nohup "$bin" "${args[@]}" --upgrade >>"$log_file" 2>&1 &
new_pid=$!
started_ms="$(now_ms)"

# Ready to receive: the new process has made its socket (after connecting to Redis).
for _ in $(seq 1 100); do
    [ -S "$sock" ] && break
    alive "$new_pid" || break
    sleep 0.1
done
if ! alive "$new_pid" || [ ! -S "$sock" ]; then
    kill -TERM "$new_pid" 2>/dev/null || true
    warn "the new gateway did not get ready to take over; last lines of $log_file:"
    tail -20 "$log_file" >&2
    fail "the old gateway ($old_pid) was not touched and still serves"
fi

log "new gateway $new_pid waits on $sock: sending SIGQUIT to the old one ($old_pid)"
quit_ms="$(now_ms)"
kill -QUIT "$old_pid"

# The new process removes the socket once it holds the listener (Pingora polls once a second).
for _ in $(seq 1 150); do
    [ -S "$sock" ] || break
    alive "$new_pid" || break
    sleep 0.1
done
if ! alive "$new_pid" || [ -S "$sock" ]; then
    warn "the new gateway did not take the listening socket; last lines of $log_file:"
    tail -20 "$log_file" >&2
    fail "the old gateway ($old_pid) stops listening within seconds of SIGQUIT: start a gateway now (scripts/up.sh)"
fi
log "new gateway $new_pid took the listening socket $(($(now_ms) - quit_ms)) ms after SIGQUIT"

# The old process accepts for 5 s more (Pingora's close timeout), then lets what it holds
# finish for its grace period; its runtimes may take the shutdown timeout past that.
deadline=$((5 + grace + drain_timeout + 15))
for _ in $(seq 1 $((deadline * 10))); do
    alive "$old_pid" || break
    sleep 0.1
done
alive "$old_pid" && fail "the old gateway ($old_pid) still runs ${deadline}s after SIGQUIT (the new one, $new_pid, serves)"
old_exit_ms="$(($(now_ms) - quit_ms))"

wait_http "$health" 10 || fail "the new gateway ($new_pid) does not answer $health"
alive "$new_pid" || fail "the new gateway ($new_pid) exited; see $log_file"
if [ -n "$pid_file" ]; then
    echo "$new_pid" >"$pid_file"
fi
log "gateway upgraded on $listen: pid $old_pid -> $new_pid (started in $((quit_ms - started_ms)) ms; old exited ${old_exit_ms} ms after SIGQUIT; $health answers)"
