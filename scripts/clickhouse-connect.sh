#!/usr/bin/env bash
# clickhouse-connect, ClickHouse's Python client, as an independent client of the embedded store's HTTP
# interface in tests: installed from PyPI into a virtualenv in the cache outside the repository (like
# scripts/pyiceberg.sh).
#
#   bash scripts/clickhouse-connect.sh install          # create the virtualenv once; prints its python
#   bash scripts/clickhouse-connect.sh python ARGS...   # run its python (installs first when missing)
#
# Settings: CLICKHOUSE_CONNECT_VERSION (default 1.12.0), PACKETPULSE_CACHE (default ~/.cache/packetpulse)
set -euo pipefail
CLICKHOUSE_CONNECT_VERSION="${CLICKHOUSE_CONNECT_VERSION:-1.12.0}"
CACHE_ROOT="${PACKETPULSE_CACHE:-$HOME/.cache/packetpulse}"
VENV="$CACHE_ROOT/clickhouse-connect-$CLICKHOUSE_CONNECT_VERSION"

install() {
  if [[ -f "$VENV/.complete" ]]; then return; fi
  echo "installing clickhouse-connect==$CLICKHOUSE_CONNECT_VERSION into $VENV" >&2
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "clickhouse-connect==$CLICKHOUSE_CONNECT_VERSION" >&2
  touch "$VENV/.complete"
}

case "${1:-}" in
  install)
    install
    echo "$VENV/bin/python"
    ;;
  python)
    shift
    install
    exec "$VENV/bin/python" "$@"
    ;;
  *)
    echo "usage: bash scripts/clickhouse-connect.sh install|python ARGS..." >&2
    exit 2
    ;;
esac
