#!/usr/bin/env bash
# A real single-node Apache Kafka broker (KRaft, combined broker + controller) for tests and CI.
#
#   bash scripts/kafka.sh start | stop | restart | status | env | logs [N] | fetch | kill | reset
#
# The broker's jars come from Maven Central (org.apache.kafka:kafka_2.13 and its runtime dependencies,
# fetched with `mvn dependency:copy-dependencies` on scripts/kafka/pom.xml) into a cache outside the
# repository; no tarball, no Docker. See docs/decisions/002-kafka-broker-for-tests.md.
#
# Settings (environment):
#   KAFKA_VERSION           Kafka version to fetch and run                      (default 4.4.0)
#   PACKETPULSE_CACHE       cache root; jars go to $PACKETPULSE_CACHE/kafka-<version>/libs
#                                                                              (default ~/.cache/packetpulse)
#   KAFKA_HOST, KAFKA_PORT  PLAINTEXT listener                                  (default 127.0.0.1:9092)
#   KAFKA_CONTROLLER_PORT   KRaft controller listener                           (default KAFKA_PORT + 1)
#   KAFKA_DATA_DIR          storage, config, logs and pid file; kept across stop/start so topics survive
#                                                                              (default ${TMPDIR:-/tmp}/packetpulse-kafka-<port>)
#   KAFKA_HEAP_OPTS         JVM heap                                            (default -Xms512m -Xmx512m)
#   KAFKA_JAVA              java binary, version 17 or newer        (default $JAVA_HOME/bin/java, else java)
#   KAFKA_START_TIMEOUT     seconds to wait for the broker to be ready          (default 120)
#   KAFKA_STOP_TIMEOUT      seconds to wait for a clean shutdown before kill -9 (default 30)
#
# `eval "$(bash scripts/kafka.sh env)"` exports KAFKA_BOOTSTRAP_SERVERS, KAFKA_DATA_DIR, KAFKA_LOG_FILE, ...
# Exit codes: 0 ok; 1 failure; 3 `status` when the broker is not running.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$SCRIPT_DIR/.." && pwd)"
POM="$SCRIPT_DIR/kafka/pom.xml"
READY_CHECK="$SCRIPT_DIR/kafka/ready.mjs"

KAFKA_VERSION="${KAFKA_VERSION:-4.4.0}"
CACHE_ROOT="${PACKETPULSE_CACHE:-$HOME/.cache/packetpulse}"
LIBS_DIR="$CACHE_ROOT/kafka-$KAFKA_VERSION/libs"
KAFKA_HOST="${KAFKA_HOST:-127.0.0.1}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
DATA_DIR="${KAFKA_DATA_DIR:-${TMPDIR:-/tmp}/packetpulse-kafka-$KAFKA_PORT}"
STORAGE_DIR="$DATA_DIR/kraft"
LOG_DIR="$DATA_DIR/logs"
LOG_FILE="$LOG_DIR/server.log"
STDOUT_FILE="$LOG_DIR/stdout.log"
PID_FILE="$DATA_DIR/kafka.pid"
CONFIG_FILE="$DATA_DIR/server.properties"
LOG4J_FILE="$DATA_DIR/log4j2.properties"
HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms512m -Xmx512m}"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-120}"
STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"
BOOTSTRAP="$KAFKA_HOST:$KAFKA_PORT"

log() { printf '[kafka.sh] %s\n' "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

now_ms() { date +%s%3N; }
elapsed() { awk -v a="$1" -v b="$(now_ms)" 'BEGIN { printf "%.1f s", (b - a) / 1000 }'; }

java_bin() {
  if [[ -n "${KAFKA_JAVA:-}" ]]; then
    echo "$KAFKA_JAVA"
  elif [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
    echo "$JAVA_HOME/bin/java"
  else
    command -v java || die "java not found: install a JDK 17 or newer, or set KAFKA_JAVA"
  fi
}

check_java() {
  local java version major
  java="$(java_bin)"
  version="$("$java" -version 2>&1 | awk -F'"' '/version/ { print $2; exit }')"
  major="${version%%.*}"
  [[ "$major" == "1" ]] && major="$(echo "$version" | cut -d. -f2)"
  [[ "$major" =~ ^[0-9]+$ && "$major" -ge 17 ]] ||
    die "Kafka $KAFKA_VERSION needs Java 17 or newer; $java is ${version:-unknown}"
}

# --- pid helpers ---------------------------------------------------------------------------------------

# Prints the broker's pid if the pid file names a live Kafka process of this data dir.
running_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # Guard against a recycled pid: the process must be our kafka.Kafka with our config file.
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "kafka.Kafka $CONFIG_FILE" || return 1
  echo "$pid"
}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# --- fetch ---------------------------------------------------------------------------------------------

fetch_jars() {
  if [[ -f "$LIBS_DIR/.complete" ]]; then
    return 0
  fi
  command -v mvn >/dev/null || die "mvn not found: Maven is needed once to fetch Kafka's jars into $LIBS_DIR"
  mkdir -p "$(dirname "$LIBS_DIR")"
  local lock="$CACHE_ROOT/kafka-$KAFKA_VERSION/.fetch.lock"
  exec 8>"$lock"
  flock -w 600 8 || die "timed out waiting for another fetch of Kafka $KAFKA_VERSION"
  if [[ -f "$LIBS_DIR/.complete" ]]; then
    exec 8>&-
    return 0
  fi
  local started tmp
  started="$(now_ms)"
  tmp="$LIBS_DIR.tmp.$$"
  rm -rf "$tmp"
  log "fetching org.apache.kafka:kafka_2.13:$KAFKA_VERSION and its runtime dependencies from Maven Central into $LIBS_DIR"
  if ! mvn -q -B -f "$POM" dependency:copy-dependencies \
    -Dkafka.version="$KAFKA_VERSION" -DoutputDirectory="$tmp" >"$tmp.mvn.log" 2>&1; then
    tail -n 40 "$tmp.mvn.log" >&2 || true
    rm -rf "$tmp" "$tmp.mvn.log"
    die "mvn could not fetch Kafka $KAFKA_VERSION (is Maven Central reachable? is the version served?)"
  fi
  rm -f "$tmp.mvn.log"
  [[ -f "$tmp/kafka_2.13-$KAFKA_VERSION.jar" ]] || die "fetch finished without kafka_2.13-$KAFKA_VERSION.jar"
  touch "$tmp/.complete"
  rm -rf "$LIBS_DIR"
  mv "$tmp" "$LIBS_DIR"
  exec 8>&-
  log "fetched $(find "$LIBS_DIR" -name '*.jar' | wc -l) jars ($(du -sh "$LIBS_DIR" | cut -f1)) in $(elapsed "$started")"
}

# --- configuration -------------------------------------------------------------------------------------

write_config() {
  mkdir -p "$STORAGE_DIR" "$LOG_DIR"
  cat >"$CONFIG_FILE" <<EOF
# Generated by scripts/kafka.sh on every start; edit the script, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT,CONTROLLER://$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$STORAGE_DIR
auto.create.topics.enable=false
num.partitions=3
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
delete.topic.enable=true
EOF
  cat >"$LOG4J_FILE" <<EOF
status = warn
shutdownHook = disable
appender.file.type = RollingFile
appender.file.name = file
appender.file.fileName = $LOG_FILE
appender.file.filePattern = $LOG_FILE.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 50MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 2
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
EOF
}

# Formats the KRaft storage once; later starts reuse it (topics and offsets survive stop/start).
format_storage() {
  if [[ -f "$STORAGE_DIR/meta.properties" ]]; then
    local formatted_with
    formatted_with="$(cat "$DATA_DIR/version" 2>/dev/null || true)"
    if [[ "$formatted_with" == "$KAFKA_VERSION" ]]; then
      return 0
    fi
    log "storage in $STORAGE_DIR was formatted by Kafka ${formatted_with:-unknown}; reformatting for $KAFKA_VERSION (its topics are dropped)"
    rm -rf "$STORAGE_DIR"
    mkdir -p "$STORAGE_DIR"
  fi
  # A cluster id is 16 random bytes in URL-safe base64 without padding (what `random-uuid` prints).
  local cluster_id
  # An id starting with '-' would be read as an option by StorageTool's argument parser: draw again.
  cluster_id="-"
  while [[ "$cluster_id" == -* ]]; do
    cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
  done
  "$(java_bin)" -Xmx256m -cp "$LIBS_DIR/*" -Dlog4j2.configurationFile="$LOG4J_FILE" \
    kafka.tools.StorageTool format --cluster-id "$cluster_id" --config "$CONFIG_FILE" \
    >"$LOG_DIR/format.log" 2>&1 || {
    cat "$LOG_DIR/format.log" >&2
    die "formatting KRaft storage in $STORAGE_DIR failed"
  }
  echo "$KAFKA_VERSION" >"$DATA_DIR/version"
  log "formatted KRaft storage in $STORAGE_DIR (cluster id $cluster_id)"
}

# --- readiness -----------------------------------------------------------------------------------------

# A metadata round trip through kafkajs (the client the project uses) when it is installed; else the
# broker's own "started" line plus an open port.
broker_ready() {
  port_open "$KAFKA_HOST" "$KAFKA_PORT" || return 1
  if command -v node >/dev/null && [[ -d "$REPO_DIR/node_modules/kafkajs" ]]; then
    node "$READY_CHECK" "$BOOTSTRAP" >/dev/null 2>&1 9>&-
  else
    grep -q "Kafka Server started" "$LOG_FILE" 2>/dev/null
  fi
}

# Byte offsets of the log files when this start began, so that a failure shows only this start's lines.
LOG_MARK=0
STDOUT_MARK=0
mark_logs() {
  LOG_MARK="$(stat -c %s "$LOG_FILE" 2>/dev/null || echo 0)"
  STDOUT_MARK="$(stat -c %s "$STDOUT_FILE" 2>/dev/null || echo 0)"
}

fail_with_logs() {
  log "ERROR: $1"
  if [[ -s "$STDOUT_FILE" ]] && (($(stat -c %s "$STDOUT_FILE") > STDOUT_MARK)); then
    log "--- JVM output ($STDOUT_FILE) ---"
    tail -c +"$((STDOUT_MARK + 1))" "$STDOUT_FILE" | tail -n 20 >&2
  fi
  if [[ -s "$LOG_FILE" ]] && (($(stat -c %s "$LOG_FILE") > LOG_MARK)); then
    log "--- last lines of $LOG_FILE ---"
    tail -c +"$((LOG_MARK + 1))" "$LOG_FILE" | tail -n 40 >&2
  fi
  exit 1
}

# --- commands ------------------------------------------------------------------------------------------

lock_data_dir() {
  mkdir -p "$DATA_DIR"
  exec 9>"$DATA_DIR/.lock"
  flock -w 300 9 || die "another kafka.sh command holds $DATA_DIR/.lock"
}

cmd_start() {
  local started pid
  started="$(now_ms)"
  lock_data_dir
  if pid="$(running_pid)"; then
    log "already running (pid $pid) on $BOOTSTRAP"
    return 0
  fi
  rm -f "$PID_FILE"
  if port_open "$KAFKA_HOST" "$KAFKA_PORT"; then
    die "port $KAFKA_PORT on $KAFKA_HOST is already in use by another process (set KAFKA_PORT)"
  fi
  if port_open "$KAFKA_HOST" "$KAFKA_CONTROLLER_PORT"; then
    die "controller port $KAFKA_CONTROLLER_PORT on $KAFKA_HOST is already in use (set KAFKA_CONTROLLER_PORT)"
  fi
  check_java
  fetch_jars
  write_config
  format_storage
  mark_logs

  # setsid: the broker outlives the calling shell or test runner and ignores its Ctrl-C.
  # 9>&- : the broker must not inherit the data dir lock.
  # shellcheck disable=SC2086
  setsid "$(java_bin)" $HEAP_OPTS -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$LOG4J_FILE" -Dkafka.logs.dir="$LOG_DIR" \
    -cp "$LIBS_DIR/*" kafka.Kafka "$CONFIG_FILE" </dev/null >>"$STDOUT_FILE" 2>&1 9>&- &
  pid=$!
  echo "$pid" >"$PID_FILE"

  local deadline=$(($(date +%s) + START_TIMEOUT))
  until broker_ready; do
    kill -0 "$pid" 2>/dev/null || {
      rm -f "$PID_FILE"
      fail_with_logs "Kafka exited during start-up"
    }
    if (($(date +%s) >= deadline)); then
      kill -9 "$pid" 2>/dev/null || true
      rm -f "$PID_FILE"
      fail_with_logs "Kafka was not ready on $BOOTSTRAP within ${START_TIMEOUT}s"
    fi
    sleep 0.2
  done
  log "Kafka $KAFKA_VERSION ready on $BOOTSTRAP (pid $pid) in $(elapsed "$started"); data $DATA_DIR, log $LOG_FILE"
}

# stop [signal-timeout]: SIGTERM (controlled shutdown), then SIGKILL after KAFKA_STOP_TIMEOUT seconds.
cmd_stop() {
  local started pid
  started="$(now_ms)"
  lock_data_dir
  if ! pid="$(running_pid)"; then
    rm -f "$PID_FILE"
    log "not running"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$(($(date +%s) + STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null; do
    if (($(date +%s) >= deadline)); then
      log "no clean shutdown within ${STOP_TIMEOUT}s; sending SIGKILL to $pid"
      kill -9 "$pid" 2>/dev/null || true
      sleep 0.5
      break
    fi
    sleep 0.2
  done
  rm -f "$PID_FILE"
  log "stopped (pid $pid) in $(elapsed "$started")"
}

# kill: SIGKILL at once, as a crash would (page cache survives, so acknowledged writes do too).
cmd_kill() {
  local pid
  lock_data_dir
  if pid="$(running_pid)"; then
    kill -9 "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    log "killed (pid $pid)"
  else
    log "not running"
  fi
  rm -f "$PID_FILE"
}

cmd_status() {
  local pid
  if pid="$(running_pid)"; then
    if broker_ready; then
      echo "running: Kafka $(cat "$DATA_DIR/version" 2>/dev/null || echo "$KAFKA_VERSION") on $BOOTSTRAP (pid $pid); data $DATA_DIR; log $LOG_FILE"
    else
      echo "starting or unhealthy: pid $pid is alive but $BOOTSTRAP does not answer a metadata request; log $LOG_FILE"
    fi
    return 0
  fi
  echo "not running (expected on $BOOTSTRAP; data $DATA_DIR)"
  return 3
}

cmd_env() {
  cat <<EOF
export KAFKA_BOOTSTRAP_SERVERS='$BOOTSTRAP'
export KAFKA_VERSION='$KAFKA_VERSION'
export KAFKA_DATA_DIR='$DATA_DIR'
export KAFKA_LOG_FILE='$LOG_FILE'
export KAFKA_PID_FILE='$PID_FILE'
export KAFKA_LIBS_DIR='$LIBS_DIR'
EOF
}

cmd_reset() {
  cmd_stop
  rm -rf "$STORAGE_DIR" "$DATA_DIR/version"
  log "deleted the broker's storage in $STORAGE_DIR"
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
restart)
  cmd_stop
  exec 9>&-
  cmd_start
  ;;
status) cmd_status ;;
env) cmd_env ;;
logs) tail -n "${2:-100}" "$LOG_FILE" ;;
fetch)
  check_java
  fetch_jars
  echo "$LIBS_DIR"
  ;;
kill) cmd_kill ;;
reset) cmd_reset ;;
*)
  echo "usage: $0 start|stop|restart|status|env|logs [N]|fetch|kill|reset" >&2
  exit 1
  ;;
esac
