#!/usr/bin/env bash
# A Python tool from PyPI in a virtualenv of its own in the cache outside the repository, for the tests'
# independent readers and clients (scripts/pyiceberg.sh, scripts/clickhouse-connect.sh call this).
#
#   bash scripts/python-tool.sh NAME REQUIREMENT install          # create the virtualenv once; prints its python
#   bash scripts/python-tool.sh NAME REQUIREMENT python ARGS...   # run its python (installs first when missing)
#
# NAME-VERSION names the virtualenv; REQUIREMENT is what pip installs (pinned). PACKETPULSE_CACHE (default
# ~/.cache/packetpulse) holds them.
set -euo pipefail
if [[ $# -lt 3 ]]; then
  echo "usage: bash scripts/python-tool.sh NAME REQUIREMENT install|python ARGS..." >&2
  exit 2
fi
NAME="$1"
REQUIREMENT="$2"
shift 2
CACHE_ROOT="${PACKETPULSE_CACHE:-$HOME/.cache/packetpulse}"
VENV="$CACHE_ROOT/$NAME"

install() {
  if [[ -f "$VENV/.complete" ]]; then return; fi
  echo "installing $REQUIREMENT into $VENV" >&2
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "$REQUIREMENT" >&2
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
    echo "usage: bash scripts/python-tool.sh NAME REQUIREMENT install|python ARGS..." >&2
    exit 2
    ;;
esac
