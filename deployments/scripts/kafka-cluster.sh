#!/usr/bin/env bash
# Local three-node Apache Kafka cluster (KRaft: each node broker + controller,
# a static quorum of three voters) for tests of what a replicated Kafka does
# when a node dies. Each node is a kafka.sh broker with a state dir, ports and
# deployments/kafka/cluster.properties of its own (replication factor 3,
# min.insync.replicas=2), from the same jars.
#
# Usage: deployments/scripts/kafka-cluster.sh start|stop|status|env
#        deployments/scripts/kafka-cluster.sh start-node|stop-node|kill-node N   (N = 1, 2, 3)
#   start      start the nodes that are not running (all three at once: a node
#              answers only once a quorum of two elected a controller) and wait
#              until each answers requests
#   stop       stop the three nodes (SIGTERM, then KILL after 20 s)
#   status     exit 0 if all three answer
#   env        print KAFKA_BOOTSTRAP_SERVERS=<the three brokers>
#   start-node N  start node N again on its data (after kill-node or stop-node)
#   stop-node N   stop node N (SIGTERM)
#   kill-node N   SIGKILL node N, as a crash would
#
# Environment:
#   KAFKA_CLUSTER_PORTS             the brokers' ports      (default "20192 20193 20194", on 127.0.0.1)
#   KAFKA_CLUSTER_CONTROLLER_PORTS  the controllers' ports  (default "20195 20196 20197")
#   KAFKA_CLUSTER_STATE_DIR         state of the cluster    (default $REPO/.cache/kafka-cluster; node N in nodeN/)
#   KAFKA_HEAP_OPTS                 per node, default "-Xms128m -Xmx384m" (three fit a 2-core, 24 GiB machine)
#   KAFKA_VERSION, JAVA_HOME, KAFKA_START_TIMEOUT, KAFKA_JVM_OPTS: as kafka.sh
# KAFKA_BOOTSTRAP_SERVERS is ignored: this script always runs its own nodes.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$SCRIPT_DIR/../.." && pwd)"
STATE="${KAFKA_CLUSTER_STATE_DIR:-$REPO/.cache/kafka-cluster}"
read -r -a PORTS <<<"${KAFKA_CLUSTER_PORTS:-20192 20193 20194}"
read -r -a CPORTS <<<"${KAFKA_CLUSTER_CONTROLLER_PORTS:-20195 20196 20197}"
HOST=127.0.0.1

log() { echo "kafka-cluster.sh: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ ${#PORTS[@]} -eq 3 && ${#CPORTS[@]} -eq 3 ]] || die "KAFKA_CLUSTER_PORTS and KAFKA_CLUSTER_CONTROLLER_PORTS need three ports each"

VOTERS="1@$HOST:${CPORTS[0]},2@$HOST:${CPORTS[1]},3@$HOST:${CPORTS[2]}"

# node N CMD [env...]: run kafka.sh CMD for node N.
node() {
  local n="$1" cmd="$2"
  shift 2
  local dir="$STATE/node$n"
  mkdir -p "$dir"
  sed -e "s|@NODE_ID@|$n|g" -e "s|@VOTERS@|$VOTERS|g" "$REPO/deployments/kafka/cluster.properties" >"$dir/cluster.properties"
  env -u KAFKA_BOOTSTRAP_SERVERS \
    KAFKA_STATE_DIR="$dir" \
    KAFKA_TEST_PORT="${PORTS[$((n - 1))]}" \
    KAFKA_TEST_CONTROLLER_PORT="${CPORTS[$((n - 1))]}" \
    KAFKA_EXTRA_PROPERTIES="$dir/cluster.properties" \
    KAFKA_FORMAT_ARGS="" \
    KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms128m -Xmx384m}" \
    "$@" bash "$SCRIPT_DIR/kafka.sh" "$cmd"
}

check_node() {
  [[ "${1:-}" =~ ^[123]$ ]] || die "node number 1, 2 or 3, not '${1:-}'"
}

bootstrap() {
  echo "$HOST:${PORTS[0]},$HOST:${PORTS[1]},$HOST:${PORTS[2]}"
}

cmd_start() {
  # Fetch the jars once, not three times at once.
  env -u KAFKA_BOOTSTRAP_SERVERS bash "$SCRIPT_DIR/kafka.sh" class kafka.tools.StorageTool version >/dev/null 2>&1 || true
  local pids=() n failed=0
  for n in 1 2 3; do
    node "$n" start &
    pids+=($!)
  done
  for n in 0 1 2; do
    wait "${pids[$n]}" || failed=1
  done
  ((failed == 0)) || die "a node did not start (logs: $STATE/node*/kafka.log)"
  log "three nodes ready: $(bootstrap)"
}

cmd_stop() {
  local pids=() n
  for n in 1 2 3; do
    node "$n" stop &
    pids+=($!)
  done
  for n in 0 1 2; do wait "${pids[$n]}" || true; done
}

cmd_status() {
  local n bad=0
  for n in 1 2 3; do
    if ! node "$n" status; then bad=1; fi
  done
  return "$bad"
}

cmd_kill_node() {
  local pid
  pid="$(cat "$STATE/node$1/kafka.pid" 2>/dev/null)" || die "node $1 has no pid file"
  [[ "$pid" =~ ^[0-9]+$ ]] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "kafka.Kafka $STATE/node$1/" ||
    die "node $1 (pid $pid) is not running"
  kill -KILL "$pid"
  local i
  for ((i = 0; i < 100; i++)); do # gone, or a zombie nobody reaped yet
    [[ -r "/proc/$pid/stat" && "$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null)" != Z ]] || break
    sleep 0.05
  done
  log "node $1 (pid $pid) killed"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) echo "KAFKA_BOOTSTRAP_SERVERS=$(bootstrap)" ;;
  start-node) check_node "${2:-}"; node "$2" start KAFKA_KEEP_DATA=1 ;;
  stop-node) check_node "${2:-}"; node "$2" stop ;;
  kill-node) check_node "${2:-}"; cmd_kill_node "$2" ;;
  *)
    echo "usage: $0 start|stop|status|env|start-node N|stop-node N|kill-node N" >&2
    exit 2
    ;;
esac
