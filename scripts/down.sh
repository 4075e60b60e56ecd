#!/usr/bin/env bash
# Stops what scripts/up.sh started (not Postgres or Redis).

source "$(dirname "$0")/lib.sh"

quiet=0
[ "${1:-}" = "--quiet" ] && quiet=1
for name in gateway api; do
    pidfile="$LOCAL/run/$name.pid"
    if [ -f "$pidfile" ]; then
        pid="$(cat "$pidfile")"
        if kill -0 "$pid" 2>/dev/null; then
            [ $quiet -eq 1 ] || log "stopping $name ($pid)"
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
            kill -KILL "$pid" 2>/dev/null || true
        fi
        rm -f "$pidfile"
    fi
done
