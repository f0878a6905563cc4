#!/usr/bin/env bash
# Starts or stops paas's own processes (API, build worker, runner) in the background,
# with pid files in $PAAS_HOME/run and logs in $PAAS_HOME/logs. Usage: platform.sh up|down|status
set -euo pipefail
# What the platform makes under $PAAS_HOME (repositories, sources, slugs, logs, caches) is root's
# alone; a file whose mode is content (a build's source, an image's) gets it explicitly.
umask 077

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PAAS_HOME=$(mkdir -p "${PAAS_HOME:-$ROOT/.paas}" && cd "${PAAS_HOME:-$ROOT/.paas}" && pwd)
export PAAS_HOME  # separately, so a failing mkdir/cd stops the script (set -e)
VENV="$ROOT/.venv/bin"
RUN="$PAAS_HOME/run"; LOGS="$PAAS_HOME/logs"
API_HOST=${PAAS_API_HOST:-127.0.0.1}; API_PORT=${PAAS_API_PORT:-5100}
mkdir -p "$RUN" "$LOGS"
# The API holds a socket for each open output stream, log tail or attached run: a thousand of
# them need more than the usual soft limit of 1,024 open files.
ulimit -Sn 65536 2>/dev/null || ulimit -Sn "$(ulimit -Hn)" 2>/dev/null || true

running() { [ -f "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }

start() {  # start NAME COMMAND...: runs COMMAND in its own session unless NAME already runs
  local name=$1; shift
  if running "$name"; then echo "       $name already running (pid $(cat "$RUN/$name.pid"))"; return; fi
  # Two malloc arenas, not eight per core: the threads of these processes (builds, requests,
  # reconciles) otherwise leave memory in arenas of their own (measured at idle after a test run).
  MALLOC_ARENA_MAX=2 setsid "$@" >>"$LOGS/$name.log" 2>&1 < /dev/null &
  echo $! >"$RUN/$name.pid"
  echo "       started $name (pid $!, log $LOGS/$name.log)"
}

stop() {
  local name=$1
  if running "$name"; then
    kill -TERM -- "-$(cat "$RUN/$name.pid")" 2>/dev/null || kill -TERM "$(cat "$RUN/$name.pid")"
    for _ in $(seq 1 100); do running "$name" || break; sleep 0.1; done
    running "$name" && kill -KILL -- "-$(cat "$RUN/$name.pid")" 2>/dev/null || true
    echo "       stopped $name"
  fi
  rm -f "$RUN/$name.pid"
}

# Something listens on API_PORT (any address: a listener on 0.0.0.0 blocks 127.0.0.1 too).
# ss when present; otherwise a bash /dev/tcp connect to API_HOST.
api_port_taken() {
  if command -v ss >/dev/null 2>&1; then
    [ -n "$(ss -ltnH "sport = :$API_PORT" 2>/dev/null)" ]
  else
    (exec 3<>"/dev/tcp/$API_HOST/$API_PORT") 2>/dev/null
  fi
}

# The API that answers is ours: our api pid is alive and, when ss can name the listener's
# process, it is that pid (not another checkout's API that took the port first).
api_is_ours() {
  running api || return 1
  command -v ss >/dev/null 2>&1 || return 0
  local listeners
  listeners=$(ss -ltnpH "sport = :$API_PORT" 2>/dev/null) || return 0
  case "$listeners" in
    *"pid=$(cat "$RUN/api.pid"),"*) return 0 ;;
    *pid=*) return 1 ;;   # someone else's process holds the port
    *) return 0 ;;        # ss cannot tell (no process info): the live pid has to do
  esac
}

wait_for_api() {
  for _ in $(seq 1 100); do
    running api || break
    curl -fs -o /dev/null "http://$API_HOST:$API_PORT/docs" 2>/dev/null && api_is_ours && return 0
    sleep 0.2
  done
  echo "error: the API did not come up; see $LOGS/api.log" >&2
  tail -n 20 "$LOGS/api.log" >&2
  exit 1
}

# A push that arrives before the build worker answers is refused ("no build worker"): up
# returns only once it answers a ping, and fails loudly if it died on start.
wait_for_worker() {
  for _ in $(seq 1 30); do
    running worker || break
    "$VENV/celery" -A paas.builder.tasks inspect ping --timeout 1 >/dev/null 2>&1 && return 0
  done
  echo "error: the build worker did not come up; see $LOGS/worker.log" >&2
  tail -n 20 "$LOGS/worker.log" >&2
  exit 1
}

case "${1:-}" in
  up)
    # Pid files are per PAAS_HOME: another checkout's paas on this machine is invisible to them,
    # and starting ours would add a second worker and runner against the same Postgres, Redis
    # and Caddy while the API check passed against the other API. Refuse before starting anything.
    if ! running api && api_port_taken; then
      echo "error: another paas already serves $API_HOST:$API_PORT (not started from $PAAS_HOME);" \
        "run 'make down' in that checkout first, or set PAAS_API_PORT" >&2
      exit 1
    fi
    echo "-----> Starting paas (API, build worker, runner)"
    # A client's address is the connection's (the dashboard's sign-in limits count by it), unless
    # PAAS_FORWARDED_ALLOW_IPS names the proxies in front whose X-Forwarded-For is believed.
    proxies=(--no-proxy-headers)
    [ -n "${PAAS_FORWARDED_ALLOW_IPS:-}" ] && proxies=(--forwarded-allow-ips "$PAAS_FORWARDED_ALLOW_IPS")
    start api "$VENV/uvicorn" paas.platform.app:create_app --factory --host "$API_HOST" --port "$API_PORT" "${proxies[@]}"
    # --without-gossip/--without-mingle: a single worker has no peers to sync with at startup
    # or to gossip with, so skip both (faster start, fewer broker messages).
    start worker "$VENV/celery" -A paas.builder.tasks worker --loglevel=INFO --pool=threads --concurrency=2 \
      --without-gossip --without-mingle --hostname "paas@%h"
    start runner "$VENV/python" -m paas.runner
    wait_for_api
    wait_for_worker
    ;;
  down)
    echo "-----> Stopping paas (API, build worker, runner)"
    for name in runner worker api; do stop "$name"; done
    ;;
  status)
    for name in api worker runner; do
      if running "$name"; then echo "$name: running (pid $(cat "$RUN/$name.pid"))"; else echo "$name: stopped"; fi
    done
    ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
