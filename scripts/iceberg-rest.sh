#!/usr/bin/env bash
# Apache Iceberg's REST catalog test fixture (org.apache.iceberg.rest.RESTCatalogServer, the server inside
# the apache/iceberg-rest-fixture image) for tests and CI, run from Maven Central jars. Its tables live in
# an S3 bucket of the local S3 server (moto, scripts/moto.sh) so the at-scale path is exercised end to end.
#
#   bash scripts/iceberg-rest.sh start | stop | status | env
#
# Settings:
#   ICEBERG_REST_PORT      default 8181
#   ICEBERG_REST_S3        S3 endpoint of the warehouse (default http://127.0.0.1:5055, moto)
#   ICEBERG_REST_BUCKET    bucket of the warehouse (default packetpulse-bronze; created when missing)
#   PACKETPULSE_CACHE      cache root; jars go to $PACKETPULSE_CACHE/iceberg-rest-<version>/libs
set -euo pipefail
cd "$(dirname "$0")/.."
ICEBERG_VERSION=1.10.0
PORT="${ICEBERG_REST_PORT:-8181}"
S3="${ICEBERG_REST_S3:-http://127.0.0.1:5055}"
BUCKET="${ICEBERG_REST_BUCKET:-packetpulse-bronze}"
CACHE_ROOT="${PACKETPULSE_CACHE:-$HOME/.cache/packetpulse}"
LIBS_DIR="$CACHE_ROOT/iceberg-rest-$ICEBERG_VERSION/libs"
STATE_DIR="${TMPDIR:-/tmp}/packetpulse-iceberg-rest-$PORT"
PID_FILE="$STATE_DIR/server.pid"
LOG_FILE="$STATE_DIR/server.log"
# moto accepts any credentials; the catalog's S3FileIO and the tests use the same pair.
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-packetpulse}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-packetpulse-secret}"
export AWS_REGION="${AWS_REGION:-us-east-1}"

running() { [[ -f "$PID_FILE" ]] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; }

fetch() {
  if [[ -f "$LIBS_DIR/.complete" ]]; then return; fi
  echo "fetching the Iceberg REST catalog $ICEBERG_VERSION and its dependencies from Maven Central into $LIBS_DIR"
  rm -rf "$LIBS_DIR" && mkdir -p "$LIBS_DIR"
  mvn -q -f scripts/iceberg-rest/pom.xml dependency:copy-dependencies \
    -Diceberg.version="$ICEBERG_VERSION" -DoutputDirectory="$LIBS_DIR"
  touch "$LIBS_DIR/.complete"
}

case "${1:-}" in
  start)
    if running; then echo "Iceberg REST catalog already running on http://127.0.0.1:$PORT"; exit 0; fi
    fetch
    # The bucket must exist before the catalog writes metadata into it (S3 CreateBucket over plain HTTP).
    status="$(curl -s -o /dev/null -w '%{http_code}' -X PUT "$S3/$BUCKET")" || status=000
    if [[ "$status" != 200 && "$status" != 409 ]]; then
      echo "cannot create bucket $BUCKET at $S3 (HTTP $status): is the S3 server running (bash scripts/moto.sh start)?" >&2
      exit 1
    fi
    mkdir -p "$STATE_DIR"
    CATALOG_REST_PORT="$PORT" \
    CATALOG_WAREHOUSE="s3://$BUCKET/warehouse" \
    CATALOG_IO__IMPL=org.apache.iceberg.aws.s3.S3FileIO \
    CATALOG_S3_ENDPOINT="$S3" \
    CATALOG_S3_PATH__STYLE__ACCESS=true \
    CATALOG_CLIENT_REGION="$AWS_REGION" \
    CATALOG_URI="jdbc:sqlite:file:$STATE_DIR/catalog.db?busy_timeout=10000" \
    CATALOG_CLIENTS=1 \
      setsid java -Xmx384m -cp "$LIBS_DIR/*" org.apache.iceberg.rest.RESTCatalogServer >"$LOG_FILE" 2>&1 &
    echo $! >"$PID_FILE"
    for _ in $(seq 1 150); do
      if curl -fs "http://127.0.0.1:$PORT/v1/config" >/dev/null 2>&1; then
        echo "Iceberg REST catalog $ICEBERG_VERSION running on http://127.0.0.1:$PORT (warehouse s3://$BUCKET/warehouse at $S3)"
        exit 0
      fi
      if ! running; then break; fi
      sleep 0.2
    done
    echo "the Iceberg REST catalog did not start; log:" >&2
    tail -n 40 "$LOG_FILE" >&2
    exit 1
    ;;
  stop)
    if running; then kill "$(cat "$PID_FILE")" && rm -f "$PID_FILE" && echo "Iceberg REST catalog stopped"; else echo "Iceberg REST catalog not running"; fi
    ;;
  status)
    if running; then echo "Iceberg REST catalog running on http://127.0.0.1:$PORT"; else echo "Iceberg REST catalog not running"; exit 3; fi
    ;;
  env)
    echo "export ICEBERG_REST_URL='http://127.0.0.1:$PORT'"
    echo "export BRONZE_WAREHOUSE='s3://$BUCKET/warehouse'"
    echo "export S3_ENDPOINT='$S3'"
    ;;
  *)
    echo "usage: bash scripts/iceberg-rest.sh start|stop|status|env" >&2
    exit 2
    ;;
esac
