#!/usr/bin/env bash
# pyiceberg, the Apache Iceberg Python library, as an independent reader of the bronze tables in tests.
#
#   bash scripts/pyiceberg.sh install          # create the virtualenv once; prints its python
#   bash scripts/pyiceberg.sh python ARGS...   # run its python (installs first when missing)
#
# Settings: PYICEBERG_VERSION (default 0.12.0), PACKETPULSE_CACHE (default ~/.cache/packetpulse)
set -euo pipefail
PYICEBERG_VERSION="${PYICEBERG_VERSION:-0.12.0}"
exec bash "$(dirname "$0")/python-tool.sh" "pyiceberg-$PYICEBERG_VERSION" \
  "pyiceberg[pyarrow,s3fs]==$PYICEBERG_VERSION" "$@"
