#!/usr/bin/env bash
# A local AWS API emulator for tests: moto's server mode (the engine LocalStack is built on), from PyPI,
# installed in a virtualenv in the cache outside the repository. Used for Venus's DynamoDB connection store.
#
#   bash scripts/moto.sh start | stop | status
#
# Settings: MOTO_PORT (default 5055), MOTO_VERSION (default 5.1.18), PACKETPULSE_CACHE (default ~/.cache/packetpulse)
set -euo pipefail
MOTO_VERSION="${MOTO_VERSION:-5.1.18}"
MOTO_PORT="${MOTO_PORT:-5055}"
CACHE_ROOT="${PACKETPULSE_CACHE:-$HOME/.cache/packetpulse}"
VENV="$CACHE_ROOT/moto-$MOTO_VERSION"
STATE_DIR="${TMPDIR:-/tmp}/packetpulse-moto-$MOTO_PORT"
PID_FILE="$STATE_DIR/moto.pid"

running() { [[ -f "$PID_FILE" ]] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; }

case "${1:-}" in
  start)
    if running; then echo "moto already running on 127.0.0.1:$MOTO_PORT"; exit 0; fi
    if [[ ! -x "$VENV/bin/moto_server" ]]; then
      echo "installing moto[server]==$MOTO_VERSION into $VENV"
      python3 -m venv "$VENV"
      "$VENV/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
    fi
    mkdir -p "$STATE_DIR"
    setsid "$VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" >"$STATE_DIR/moto.log" 2>&1 &
    echo $! >"$PID_FILE"
    for _ in $(seq 1 100); do
      if curl -fs "http://127.0.0.1:$MOTO_PORT/moto-api/" >/dev/null 2>&1; then
        echo "moto $MOTO_VERSION running on http://127.0.0.1:$MOTO_PORT"
        exit 0
      fi
      sleep 0.2
    done
    echo "moto did not start; log:" >&2
    tail -n 30 "$STATE_DIR/moto.log" >&2
    exit 1
    ;;
  stop)
    if running; then kill "$(cat "$PID_FILE")" && rm -f "$PID_FILE" && echo "moto stopped"; else echo "moto not running"; fi
    ;;
  status)
    if running; then echo "moto running on 127.0.0.1:$MOTO_PORT"; else echo "moto not running"; exit 3; fi
    ;;
  *)
    echo "usage: bash scripts/moto.sh start|stop|status" >&2
    exit 2
    ;;
esac
