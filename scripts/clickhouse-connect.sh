#!/usr/bin/env bash
# clickhouse-connect, ClickHouse's Python client, as an independent client of the embedded store's HTTP
# interface in tests.
#
#   bash scripts/clickhouse-connect.sh install          # create the virtualenv once; prints its python
#   bash scripts/clickhouse-connect.sh python ARGS...   # run its python (installs first when missing)
#
# Settings: CLICKHOUSE_CONNECT_VERSION (default 1.12.0), PACKETPULSE_CACHE (default ~/.cache/packetpulse)
set -euo pipefail
CLICKHOUSE_CONNECT_VERSION="${CLICKHOUSE_CONNECT_VERSION:-1.12.0}"
exec bash "$(dirname "$0")/python-tool.sh" "clickhouse-connect-$CLICKHOUSE_CONNECT_VERSION" \
  "clickhouse-connect==$CLICKHOUSE_CONNECT_VERSION" "$@"
