#!/usr/bin/env bash
# A single-node Apache Kafka (KRaft, combined broker+controller) for development and tests.
# Jars come from Maven Central via pom.xml; data lives under .local/kafka (git-ignored).
#   kafka.sh fetch | start | stop | status
# start is idempotent: a broker that already answers is left alone.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
state="${KINTSUGI_LOCAL_DIR:-$root/.local}/kafka"
jars="$here/target/dependency"
port="${KINTSUGI_KAFKA_PORT:-9092}"
controller_port="${KINTSUGI_KAFKA_CONTROLLER_PORT:-9093}"
# A second listener that demands SASL/PLAIN, so the clients' authentication is tested on
# a real broker. Its one user's password is made up per data folder, never committed.
sasl_port="${KINTSUGI_KAFKA_SASL_PORT:-9094}"
python="${PYTHON:-$root/.venv/bin/python}"

fetch() {
  if [ -f "$jars/.complete" ]; then return 0; fi
  echo "kafka: fetching jars from Maven Central" >&2
  mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies -DincludeScope=runtime
  touch "$jars/.complete"
}

answers() {
  "$python" -m kintsugi.common.bootstrap wait --bootstrap "127.0.0.1:$port" --timeout "${1:-2}" >/dev/null 2>&1
}

write_config() {
  mkdir -p "$state/data" "$state/logs"
  if [ ! -s "$state/sasl-password" ]; then
    (umask 077; od -An -N16 -tx1 /dev/urandom | tr -d ' \n' > "$state/sasl-password")
  fi
  local sasl_password; sasl_password="$(cat "$state/sasl-password")"
  rm -f "$state/server.properties"
  (umask 077; cat > "$state/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port,SASL_PLAINTEXT://127.0.0.1:$sasl_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port,SASL_PLAINTEXT://127.0.0.1:$sasl_port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT
sasl.enabled.mechanisms=PLAIN
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_kintsugi="$sasl_password";
log.dirs=$state/data
num.partitions=3
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=168
PROPS
  )
  cat > "$state/log4j2.properties" <<PROPS
appender.file.type=File
appender.file.name=file
appender.file.fileName=$state/logs/server.log
appender.file.layout.type=PatternLayout
appender.file.layout.pattern=[%d] %p %m (%c)%n
rootLogger.level=INFO
rootLogger.appenderRef.file.ref=file
logger.kafka.name=kafka
logger.kafka.level=WARN
logger.apache.name=org.apache
logger.apache.level=WARN
PROPS
}

start() {
  fetch
  if answers 2; then echo "kafka: already running on 127.0.0.1:$port" >&2; return 0; fi
  write_config
  local cp="$jars/*"
  local log4j="-Dlog4j2.configurationFile=$state/log4j2.properties"
  if [ ! -f "$state/cluster-id" ]; then
    java -cp "$cp" kafka.tools.StorageTool random-uuid > "$state/cluster-id"
  fi
  java $log4j -cp "$cp" kafka.tools.StorageTool format \
    -t "$(cat "$state/cluster-id")" -c "$state/server.properties" --ignore-formatted >/dev/null
  # setsid: the broker outlives the shell that started it and is stopped by pid file.
  setsid java -Xms256m -Xmx${KINTSUGI_KAFKA_HEAP:-768m} $log4j -cp "$cp" kafka.Kafka \
    "$state/server.properties" > "$state/logs/stdout.log" 2>&1 < /dev/null &
  echo $! > "$state/kafka.pid"
  if ! answers 90; then
    echo "kafka: did not become ready; see $state/logs" >&2
    tail -20 "$state/logs/stdout.log" >&2 || true
    exit 1
  fi
  echo "kafka: ready on 127.0.0.1:$port (pid $(cat "$state/kafka.pid"))" >&2
}

stop() {
  local pidfile="$state/kafka.pid"
  [ -f "$pidfile" ] || { echo "kafka: not started here" >&2; return 0; }
  local pid; pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
  rm -f "$pidfile"
  echo "kafka: stopped" >&2
}

status() { if answers 2; then echo "running"; else echo "stopped"; exit 1; fi; }

case "${1:-}" in
  fetch) fetch ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 fetch|start|stop|status" >&2; exit 2 ;;
esac
