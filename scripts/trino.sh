#!/usr/bin/env bash
# Trino (the engine docker-compose.yml runs as trinodb/trino:476) for tests and CI, from the trino-server
# tarball on Maven Central: a single node (coordinator that also runs the work) with one catalog, `iceberg`,
# on the Iceberg REST catalog of scripts/iceberg-rest.sh and its warehouse in moto's S3 (scripts/moto.sh).
# Only the Iceberg plugin is loaded, which keeps the start short.
#
#   bash scripts/trino.sh start | stop | status | env | fetch
#
# Settings (environment):
#   TRINO_PORT          HTTP port, bound to 127.0.0.1                    (default 8088, as in docker-compose.yml)
#   TRINO_JAVA_HOME     a Java 24+ JDK; Trino 476 refuses older ones      (default $JAVA_HOME)
#   TRINO_HEAP          JVM heap                                          (default 2G)
#   TRINO_REST_URL      Iceberg REST catalog                              (default http://127.0.0.1:8181)
#   TRINO_S3            S3 endpoint of the warehouse                      (default http://127.0.0.1:5055, moto)
#   ICEBERG_REST_BUCKET bucket of the warehouse                           (default packetpulse-bronze)
#   TRINO_START_TIMEOUT seconds to wait until /v1/info says started      (default 180)
#   PACKETPULSE_CACHE   cache root; the server goes to $PACKETPULSE_CACHE/trino-<version>
#                                                                         (default ~/.cache/packetpulse)
# Config, data and logs live in ${TMPDIR:-/tmp}/packetpulse-trino-<port>, never in the repository.
# Exit codes: 0 ok; 1 failure; 3 `status` when Trino is not running.
set -euo pipefail

TRINO_VERSION=476
PORT="${TRINO_PORT:-8088}"
REST_URL="${TRINO_REST_URL:-http://127.0.0.1:8181}"
S3="${TRINO_S3:-http://127.0.0.1:5055}"
HEAP="${TRINO_HEAP:-2G}"
JAVA_DIR="${TRINO_JAVA_HOME:-${JAVA_HOME:-}}"
START_TIMEOUT="${TRINO_START_TIMEOUT:-180}"
CACHE_ROOT="${PACKETPULSE_CACHE:-$HOME/.cache/packetpulse}"
CACHE_DIR="$CACHE_ROOT/trino-$TRINO_VERSION"
SERVER_DIR="$CACHE_DIR/trino-server-$TRINO_VERSION"
URL="https://repo1.maven.org/maven2/io/trino/trino-server/$TRINO_VERSION/trino-server-$TRINO_VERSION.tar.gz"
STATE_DIR="${TMPDIR:-/tmp}/packetpulse-trino-$PORT"
ETC_DIR="$STATE_DIR/etc"
PID_FILE="$STATE_DIR/trino.pid"
LOG_FILE="$STATE_DIR/stdout.log"
# moto accepts any credentials; the same pair as scripts/iceberg-rest.sh and the tests.
ACCESS_KEY="${AWS_ACCESS_KEY_ID:-packetpulse}"
SECRET_KEY="${AWS_SECRET_ACCESS_KEY:-packetpulse-secret}"
# The warehouse bucket of scripts/iceberg-rest.sh.
BUCKET="${ICEBERG_REST_BUCKET:-packetpulse-bronze}"
REGION="${AWS_REGION:-us-east-1}"

log() { printf '[trino.sh] %s\n' "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}
running() { [[ -f "$PID_FILE" ]] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; }

# Downloads the tarball once (curl's progress bar), checks it against Maven Central's .sha1, unpacks it.
fetch() {
  if [[ -f "$SERVER_DIR/.complete" ]]; then return; fi
  mkdir -p "$CACHE_DIR"
  local tarball="$CACHE_DIR/trino-server-$TRINO_VERSION.tar.gz"
  log "downloading $URL (about 820 MB) into $CACHE_DIR"
  curl -fL --retry 3 --progress-bar -o "$tarball.part" "$URL"
  local expected actual
  expected="$(curl -fsSL --retry 3 "$URL.sha1" | awk '{print $1}')"
  actual="$(sha1sum "$tarball.part" | awk '{print $1}')"
  if [[ -z "$expected" || "$expected" != "$actual" ]]; then
    rm -f "$tarball.part"
    die "checksum mismatch for $URL: expected ${expected:-?}, got $actual"
  fi
  log "sha1 $actual verified; unpacking"
  rm -rf "$SERVER_DIR"
  tar -xzf "$tarball.part" -C "$CACHE_DIR"
  rm -f "$tarball.part"
  touch "$SERVER_DIR/.complete"
}

java_bin() {
  local java="${JAVA_DIR:+$JAVA_DIR/bin/}java"
  local major
  major="$("$java" -XshowSettings:properties -version 2>&1 | awk -F' = ' '/java.specification.version/ {print $2}')" ||
    die "no java at ${JAVA_DIR:-PATH}"
  [[ "${major:-0}" -ge 24 ]] || die "Trino $TRINO_VERSION needs Java 24+, ${java} is ${major:-unknown}: set TRINO_JAVA_HOME (or JAVA_HOME) to a newer JDK"
  echo "$java"
}

write_config() {
  mkdir -p "$ETC_DIR/catalog" "$STATE_DIR/data" "$STATE_DIR/plugin"
  # Only the Iceberg connector: loading every bundled plugin would double the start time.
  ln -sfn "$SERVER_DIR/plugin/iceberg" "$STATE_DIR/plugin/iceberg"
  cat >"$ETC_DIR/node.properties" <<EOF
node.environment=packetpulse_test
node.id=packetpulse-trino-$PORT
node.data-dir=$STATE_DIR/data
node.bind-ip=127.0.0.1
node.internal-address=127.0.0.1
EOF
  cat >"$ETC_DIR/config.properties" <<EOF
coordinator=true
node-scheduler.include-coordinator=true
http-server.http.port=$PORT
discovery.uri=http://127.0.0.1:$PORT
plugin.dir=$STATE_DIR/plugin
catalog.config-dir=$ETC_DIR/catalog
EOF
  # Trino's recommended JVM settings (docs: installation/deployment) with a small heap for a test node.
  cat >"$ETC_DIR/jvm.config" <<EOF
-server
-Xmx$HEAP
-XX:+ExplicitGCInvokesConcurrent
-XX:+ExitOnOutOfMemoryError
-XX:-OmitStackTraceInFastThrow
-XX:ReservedCodeCacheSize=256M
-XX:PerMethodRecompilationCutoff=10000
-XX:PerBytecodeRecompilationCutoff=10000
-Djdk.attach.allowAttachSelf=true
-Djdk.nio.maxCachedBufferSize=2000000
-Dfile.encoding=UTF-8
-XX:+EnableDynamicAgentLoading
--enable-native-access=ALL-UNNAMED
EOF
  cat >"$ETC_DIR/log.properties" <<EOF
io.trino=INFO
EOF
  # The catalog file docker-compose.yml mounts into Trino, with compose's hosts replaced by this machine's:
  # the tests then read bronze through the very settings compose gives Trino.
  local catalog
  catalog="$(dirname "$0")/../infra/trino/catalog/iceberg.properties"
  sed -e "s|http://iceberg-rest:8181|$REST_URL|" \
    -e "s|http://minio:9000|$S3|" \
    -e "s|s3://packetpulse/warehouse|s3://$BUCKET/warehouse|" \
    -e "s|^s3.region=.*|s3.region=$REGION|" \
    "$catalog" >"$ETC_DIR/catalog/iceberg.properties"
  if grep -Eq 'iceberg-rest:|minio:|s3://packetpulse/' "$ETC_DIR/catalog/iceberg.properties"; then
    die "$catalog names a compose host this script does not replace: update write_config"
  fi
}

case "${1:-}" in
  fetch)
    fetch
    ;;
  start)
    if running; then log "Trino already running on http://127.0.0.1:$PORT"; exit 0; fi
    # Another server on the port would answer the readiness check below in place of ours.
    if curl -s -o /dev/null "http://127.0.0.1:$PORT/"; then die "port $PORT is taken by another process"; fi
    started_ms="$(date +%s%3N)"
    fetch
    java="$(java_bin)"
    write_config
    log "starting Trino $TRINO_VERSION on http://127.0.0.1:$PORT ($("$java" -version 2>&1 | head -n 1), heap $HEAP)"
    # `launcher run` execs the JVM, so the pid recorded is the server's. The catalog reads the warehouse's
    # credentials from these two variables, as in docker-compose.yml.
    MINIO_ROOT_USER="$ACCESS_KEY" MINIO_ROOT_PASSWORD="$SECRET_KEY" \
      setsid "$SERVER_DIR/bin/launcher" run --jvm-dir "$(dirname "$(dirname "$(readlink -f "$java")")")" \
      --etc-dir "$ETC_DIR" --data-dir "$STATE_DIR/data" >"$LOG_FILE" 2>&1 &
    echo $! >"$PID_FILE"
    deadline=$(($(date +%s) + START_TIMEOUT))
    while [[ $(date +%s) -lt $deadline ]]; do
      if curl -fs "http://127.0.0.1:$PORT/v1/info" 2>/dev/null | grep -q '"starting":false' && running; then
        log "Trino $TRINO_VERSION running on http://127.0.0.1:$PORT after $(awk -v a="$started_ms" -v b="$(date +%s%3N)" 'BEGIN { printf "%.1f s", (b - a) / 1000 }') (catalog iceberg: $REST_URL, S3 $S3)"
        exit 0
      fi
      running || break
      sleep 1
    done
    log "Trino did not start; log ($LOG_FILE):"
    tail -n 60 "$LOG_FILE" >&2
    if running; then kill "$(cat "$PID_FILE")"; fi
    rm -f "$PID_FILE"
    exit 1
    ;;
  stop)
    if running; then
      pid="$(cat "$PID_FILE")"
      kill "$pid"
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid"; fi
      rm -f "$PID_FILE"
      log "Trino stopped"
    else
      log "Trino not running"
    fi
    ;;
  status)
    if running; then echo "Trino running on http://127.0.0.1:$PORT"; else echo "Trino not running"; exit 3; fi
    ;;
  env)
    echo "export PACKETPULSE_TEST_TRINO_URL='http://127.0.0.1:$PORT'"
    ;;
  *)
    echo "usage: bash scripts/trino.sh start|stop|status|env|fetch" >&2
    exit 2
    ;;
esac
