#!/usr/bin/env bash
# pyiceberg, the Apache Iceberg Python library, as an independent reader of the bronze tables in tests:
# installed from PyPI into a virtualenv in the cache outside the repository (like scripts/moto.sh).
#
#   bash scripts/pyiceberg.sh install          # create the virtualenv once; prints its python
#   bash scripts/pyiceberg.sh python ARGS...   # run its python (installs first when missing)
#
# Settings: PYICEBERG_VERSION (default 0.12.0), PACKETPULSE_CACHE (default ~/.cache/packetpulse)
set -euo pipefail
PYICEBERG_VERSION="${PYICEBERG_VERSION:-0.12.0}"
CACHE_ROOT="${PACKETPULSE_CACHE:-$HOME/.cache/packetpulse}"
VENV="$CACHE_ROOT/pyiceberg-$PYICEBERG_VERSION"

install() {
  if [[ -f "$VENV/.complete" ]]; then return; fi
  echo "installing pyiceberg[pyarrow,s3fs]==$PYICEBERG_VERSION into $VENV" >&2
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "pyiceberg[pyarrow,s3fs]==$PYICEBERG_VERSION" >&2
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
    echo "usage: bash scripts/pyiceberg.sh install|python ARGS..." >&2
    exit 2
    ;;
esac
