#!/usr/bin/env bash
# Local single-node Apache Kafka broker (KRaft: broker + controller in one JVM)
# for tests, development and benchmarks, run from jars fetched from Maven Central
# (org.apache.kafka:kafka_2.13:4.4.0, see deployments/kafka/pom.xml; another release
# with KAFKA_VERSION).
#
# Usage: deployments/scripts/kafka.sh start|stop|status|env|class <main-class> [args...]
#   start   reuse $KAFKA_BOOTSTRAP_SERVERS if it answers, else start our broker
#           (fresh data dir each start) and wait until it serves requests
#   stop    stop the broker this script started (never anything else)
#   status  exit 0 if our broker (or the external one) answers, 1 otherwise
#   env     print KAFKA_BOOTSTRAP_SERVERS=<host:port>   (export "$(kafka.sh env)")
#   class   run a class from the Kafka jars, e.g.
#           kafka.sh class org.apache.kafka.tools.TopicCommand --bootstrap-server 127.0.0.1:20092 --list
#
# Environment:
#   KAFKA_BOOTSTRAP_SERVERS      external broker to use instead of starting one
#   KAFKA_TEST_PORT              broker port      (default 20092, on 127.0.0.1)
#   KAFKA_TEST_CONTROLLER_PORT   controller port  (default 20093, on 127.0.0.1)
#                                (defaults below Linux's ephemeral range, 32768–60999: a port in it
#                                can be held by some outgoing connection, and the broker then fails to bind)
#   KAFKA_HEAP_OPTS              default "-Xms256m -Xmx512m"
#   KAFKA_JVM_OPTS               extra JVM options
#   KAFKA_KEEP_DATA=1            keep topics/data across restarts (default: wipe)
#   KAFKA_START_TIMEOUT          seconds to wait for the broker (default 90)
#   KAFKA_STATE_DIR              state (data, logs, pid) of this broker (default $REPO/.cache/kafka):
#                                a test that kills and restarts a broker runs one of its own
#                                this way; the jars stay in $REPO/.cache/kafka/jars
#   KAFKA_VERSION                the Apache Kafka release to run (default: the pom's, 4.4.0); another
#                                one gets jars of its own in $REPO/.cache/kafka/jars-<version>, e.g.
#                                KAFKA_VERSION=3.9.1 (3.9 is the oldest these settings fit: KRaft with
#                                controller.quorum.bootstrap.servers and `format --standalone`)
#   JAVA_HOME                    JDK/JRE to use (Java 17+), else `java` on PATH
#   KAFKA_EXTRA_PROPERTIES       a file of broker properties appended to the generated
#                                server.properties, its @BROKER_PORT@, @CONTROLLER_PORT@ and
#                                @DATA_DIR@ filled in (a later key wins): e.g. a SASL_SSL listener
#                                beside the PLAINTEXT one, which start keeps probing
#   KAFKA_FORMAT_ARGS            how the storage is formatted (default --standalone, a quorum of one);
#                                empty for a static quorum (controller.quorum.voters in
#                                KAFKA_EXTRA_PROPERTIES): kafka-cluster.sh runs three nodes so
#   KAFKA_ADD_SCRAM              SCRAM credentials made when the storage is formatted, one
#                                'SCRAM-SHA-512=[name=NAME,password=PASSWORD]' per line
#                                (kafka-storage format --add-scram)
#
# State lives in $REPO/.cache/kafka/: jars/, data/, kafka.log (broker log),
# kafka.out (JVM stdout/stderr), kafka.pid, server.properties (generated).
#
# Version note: Kafka 4.4.0 is served by Maven Central and runs on Java 17
# (brokers need Java 17+), so no fallback to 4.1.x or JDK 25 is needed.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$SCRIPT_DIR/../.." && pwd)"
CONF_SRC="$REPO/deployments/kafka"
STATE="${KAFKA_STATE_DIR:-$REPO/.cache/kafka}"
POM_VERSION="$(sed -n 's|.*<kafka.version>\(.*\)</kafka.version>.*|\1|p' "$CONF_SRC/pom.xml")"
VERSION="${KAFKA_VERSION:-$POM_VERSION}"
JARS="$REPO/.cache/kafka/jars"
[[ "$VERSION" == "$POM_VERSION" ]] || JARS="$REPO/.cache/kafka/jars-$VERSION"
DATA="$STATE/data"
TEMPLATE="$STATE/formatted"
PIDFILE="$STATE/kafka.pid"
LOG="$STATE/kafka.log"
OUT="$STATE/kafka.out"
CONFIG="$STATE/server.properties"

PORT="${KAFKA_TEST_PORT:-20092}"
CPORT="${KAFKA_TEST_CONTROLLER_PORT:-20093}"
HOST=127.0.0.1
OURS="$HOST:$PORT"
# Fixed, valid KRaft cluster id (base64 UUID, from `StorageTool random-uuid`).
CLUSTER_ID="HFbXprOjQHm5dvU388ikWA"
TIMEOUT="${KAFKA_START_TIMEOUT:-90}"

log() { echo "kafka.sh: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

JAVA="java"
[[ -n "${JAVA_HOME:-}" && -x "${JAVA_HOME}/bin/java" ]] && JAVA="$JAVA_HOME/bin/java"

# ---------------------------------------------------------------- probes

# tcp_open HOST PORT: a TCP connection succeeds within 2 s.
tcp_open() {
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

# kafka_answers HOST PORT: the broker answers a Kafka ApiVersions (v0) request.
# A KRaft broker binds its port before it serves requests, so a bare TCP
# connect is not proof of readiness; a reply to a real request is.
kafka_answers() {
  local reply
  reply="$(timeout 3 bash -c '
    exec 3<>"/dev/tcp/$1/$2" || exit 1
    # size=10 | api_key=18 (ApiVersions) | version=0 | correlation_id=1 | client_id=null
    printf "\x00\x00\x00\x0a\x00\x12\x00\x00\x00\x00\x00\x01\xff\xff" >&3
    head -c 8 <&3 | od -An -tx1' _ "$1" "$2" 2>/dev/null)" || return 1
  # Reply: int32 size, int32 correlation_id (must be 1).
  [[ "$(echo $reply)" =~ ^([0-9a-f]{2}\ ){4}00\ 00\ 00\ 01$ ]]
}

# First host:port of $KAFKA_BOOTSTRAP_SERVERS (scheme prefix stripped), or empty.
external_bootstrap() {
  local first="${KAFKA_BOOTSTRAP_SERVERS:-}"
  first="${first%%,*}"
  first="${first#*://}"
  echo "${first// /}"
}

# external_usable: KAFKA_BOOTSTRAP_SERVERS is set and its first address accepts
# a TCP connection (it may be our own broker: then it is simply reused).
external_usable() {
  local ext
  ext="$(external_bootstrap)"
  [[ -n "$ext" && "$ext" == *:* ]] || return 1
  tcp_open "${ext%:*}" "${ext##*:}"
}

# our_pid: print the pid from the pid file if that process is alive and is the
# broker we started (its command line names our config); else fail.
our_pid() {
  [[ -f "$PIDFILE" ]] || return 1
  local pid
  pid="$(cat "$PIDFILE" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "kafka.Kafka $CONFIG" || return 1
  echo "$pid"
}

# ---------------------------------------------------------------- setup

check_java() {
  command -v "$JAVA" >/dev/null 2>&1 ||
    die "java not found. Install Java 17+: apt-get install openjdk-17-jre-headless maven (or set JAVA_HOME)"
  local v
  v="$("$JAVA" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)"
  [[ -n "$v" && "$v" -ge 17 ]] ||
    die "Kafka 4.x brokers need Java 17+, found '${v:-unknown}' ($JAVA). Install: apt-get install openjdk-17-jre-headless"
}

# Fetch the jars into $JARS unless they are already there for this pom and version.
fetch_jars() {
  local stamp
  stamp="$(sha256sum "$CONF_SRC/pom.xml" | cut -d' ' -f1)"
  [[ "$VERSION" == "$POM_VERSION" ]] || stamp="$stamp $VERSION"
  if [[ -f "$JARS/.stamp" && "$(cat "$JARS/.stamp")" == "$stamp" ]]; then
    return 0
  fi
  command -v mvn >/dev/null 2>&1 ||
    die "mvn not found (needed once to fetch the Kafka jars). Install: apt-get install openjdk-17-jre-headless maven"
  log "fetching Kafka $VERSION jars from Maven Central into $JARS ..."
  local tmp="$STATE/jars.tmp.$$" t0=$SECONDS
  rm -rf "$tmp"
  local mvn=(mvn -B -q -Dstyle.color=never -f "$CONF_SRC/pom.xml" dependency:copy-dependencies "-DoutputDirectory=$tmp"
    "-Dkafka.version=$VERSION")
  # Kafka 3.x brings its own slf4j binding (reload4j, configured by log4j.properties):
  # the pom's log4j2 binding would be a second one.
  [[ "${VERSION%%.*}" -ge 4 ]] || mvn+=("-DexcludeArtifactIds=log4j-slf4j-impl,log4j-core,log4j-api")
  # Offline first (everything may already be in ~/.m2), then online.
  if ! "${mvn[@]}" -o >"$STATE/mvn.log" 2>&1; then
    rm -rf "$tmp"
    if ! "${mvn[@]}" >"$STATE/mvn.log" 2>&1; then
      rm -rf "$tmp"
      tail -n 40 "$STATE/mvn.log" >&2
      die "mvn could not fetch the Kafka jars (full output: $STATE/mvn.log)"
    fi
  fi
  compgen -G "$tmp/kafka_2.13-*.jar" >/dev/null || { rm -rf "$tmp"; die "no kafka_2.13 jar after mvn"; }
  echo "$stamp" >"$tmp/.stamp"
  rm -rf "$JARS"
  mkdir -p "$(dirname "$JARS")"
  mv "$tmp" "$JARS"
  log "jars fetched in $((SECONDS - t0)) s ($(du -sh "$JARS" | cut -f1))"
}

# fill_in [file...]: the properties with our ports and data dir filled in.
fill_in() {
  sed -e "s|@BROKER_PORT@|$PORT|g" -e "s|@CONTROLLER_PORT@|$CPORT|g" -e "s|@DATA_DIR@|$DATA|g" "$@"
}

write_config() {
  fill_in "$CONF_SRC/server.properties" >"$CONFIG.tmp"
  if [[ -n "${KAFKA_EXTRA_PROPERTIES:-}" ]]; then
    { echo; echo "# from $KAFKA_EXTRA_PROPERTIES"; cat "$KAFKA_EXTRA_PROPERTIES"; } | fill_in >>"$CONFIG.tmp"
  fi
  mv "$CONFIG.tmp" "$CONFIG"
}

run_class() { # run_class <log4j2 config> <main class> [args...]
  local l4j="$1"; shift
  "$JAVA" -Xms64m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
    -Dlog4j2.shutdownHookEnabled=false "-Dlog4j2.configurationFile=$l4j" \
    "-Dlog4j.configuration=file:${l4j%2.properties}.properties" -cp "$JARS/*" "$@"
}

# Formatting starts a JVM (~2-3 s), so format once per config into $TEMPLATE
# and copy that into a fresh $DATA on each start.
prepare_data() {
  if [[ "${KAFKA_KEEP_DATA:-0}" == 1 && -f "$DATA/meta.properties" ]]; then
    return 0
  fi
  local stamp
  local format
  read -r -a format <<<"${KAFKA_FORMAT_ARGS---standalone}"
  stamp="$(cat "$CONFIG" <(echo "$CLUSTER_ID ${format[*]}") <(ls "$JARS") <(echo "${KAFKA_ADD_SCRAM:-}") | sha256sum | cut -d' ' -f1)"
  if [[ ! -f "$TEMPLATE/.stamp" || "$(cat "$TEMPLATE/.stamp")" != "$stamp" ]]; then
    rm -rf "$TEMPLATE" "$DATA"
    local scram=() line
    while IFS= read -r line; do
      if [[ -n "$line" ]]; then scram+=(--add-scram "$line"); fi
    done <<<"${KAFKA_ADD_SCRAM:-}"
    run_class "$CONF_SRC/tools-log4j2.properties" kafka.tools.StorageTool \
      format "${format[@]}" -t "$CLUSTER_ID" -c "$CONFIG" "${scram[@]}" >"$STATE/format.log" 2>&1 ||
      { cat "$STATE/format.log" >&2; die "formatting the KRaft storage failed"; }
    mv "$DATA" "$TEMPLATE"
    echo "$stamp" >"$TEMPLATE/.stamp"
  fi
  rm -rf "$DATA"
  cp -a "$TEMPLATE" "$DATA"
  rm -f "$DATA/.stamp"
}

show_log_tail() {
  log "last 30 lines of $LOG:"
  tail -n 30 "$LOG" 2>/dev/null >&2 || true
  if [[ -s "$OUT" ]]; then
    log "last 30 lines of $OUT:"
    tail -n 30 "$OUT" >&2 || true
  fi
}

# ---------------------------------------------------------------- commands

cmd_start() {
  if external_usable; then
    local note="" p
    if p="$(our_pid)"; then note=", which is the one this script started: pid $p"; fi
    log "using the existing broker at $KAFKA_BOOTSTRAP_SERVERS (nothing started$note)"
    return 0
  fi
  mkdir -p "$STATE"
  exec 9>"$STATE/lock"
  flock -w 120 9 || die "another kafka.sh holds $STATE/lock"

  local pid
  if pid="$(our_pid)"; then
    if kafka_answers "$HOST" "$PORT"; then
      log "already running (pid $pid) at $OURS"
      return 0
    fi
    log "our broker (pid $pid) is up but not answering yet; waiting"
  else
    rm -f "$PIDFILE"
    if tcp_open "$HOST" "$PORT" || tcp_open "$HOST" "$CPORT"; then
      die "port $PORT or $CPORT on $HOST is taken by a process this script did not start." \
        "Stop it, pick other ports (KAFKA_TEST_PORT / KAFKA_TEST_CONTROLLER_PORT)," \
        "or, if it is a Kafka broker you want to use, export KAFKA_BOOTSTRAP_SERVERS=$OURS"
    fi
    check_java
    fetch_jars
    write_config
    prepare_data
    rm -f "$LOG".*
    : >"$LOG"
    local t0
    t0="$(date +%s%N)"
    # shellcheck disable=SC2086
    nohup "$JAVA" \
      ${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m} \
      -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
      -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError \
      -Djava.awt.headless=true \
      "-Dkafka.logs.dir=$STATE" \
      "-Dlog4j2.configurationFile=$CONF_SRC/log4j2.properties" \
      "-Dlog4j.configuration=file:$CONF_SRC/log4j.properties" \
      ${KAFKA_JVM_OPTS:-} \
      -cp "$JARS/*" kafka.Kafka "$CONFIG" \
      >"$OUT" 2>&1 </dev/null 9>&- &
    pid=$!
    echo "$pid" >"$PIDFILE"
    log "started Kafka $VERSION broker pid $pid (log: $LOG)"
    START_NS="$t0"
  fi

  local deadline=$((SECONDS + TIMEOUT))
  until kafka_answers "$HOST" "$PORT"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PIDFILE"
      show_log_tail
      die "the broker exited during startup"
    fi
    if ((SECONDS >= deadline)); then
      show_log_tail
      die "the broker did not answer on $OURS within ${TIMEOUT} s (pid $pid still running; '$0 stop' to stop it)"
    fi
    sleep 0.2
  done
  if [[ -n "${START_NS:-}" ]]; then
    local ms=$((($(date +%s%N) - START_NS) / 1000000))
    log "broker ready at $OURS in $((ms / 1000)).$(printf '%03d' $((ms % 1000))) s (JVM start to first answered request)"
  else
    log "broker ready at $OURS"
  fi
}

cmd_stop() {
  local pid
  if ! pid="$(our_pid)"; then
    [[ -f "$PIDFILE" ]] && log "removing stale pid file" && rm -f "$PIDFILE"
    log "no broker of ours is running"
    return 0
  fi
  log "stopping broker pid $pid"
  kill -TERM "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "still alive after 20 s, sending KILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 25; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  fi
  rm -f "$PIDFILE"
  log "stopped"
}

cmd_status() {
  if external_usable; then
    echo "external broker at $KAFKA_BOOTSTRAP_SERVERS is reachable"
    return 0
  fi
  local pid
  if pid="$(our_pid)"; then
    if kafka_answers "$HOST" "$PORT"; then
      echo "running: pid $pid at $OURS"
      return 0
    fi
    echo "starting or unhealthy: pid $pid, $OURS does not answer"
    return 1
  fi
  echo "not running"
  return 1
}

cmd_env() {
  if external_usable; then
    echo "KAFKA_BOOTSTRAP_SERVERS=$KAFKA_BOOTSTRAP_SERVERS"
  else
    echo "KAFKA_BOOTSTRAP_SERVERS=$OURS"
  fi
}

cmd_class() {
  [[ $# -ge 1 ]] || die "usage: $0 class <main-class> [args...]"
  check_java
  mkdir -p "$STATE"
  fetch_jars
  run_class "$CONF_SRC/tools-log4j2.properties" "$@"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) cmd_env ;;
  class) shift; cmd_class "$@" ;;
  *)
    echo "usage: $0 start|stop|status|env|class <main-class> [args...]" >&2
    exit 2
    ;;
esac
