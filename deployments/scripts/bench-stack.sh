# Sourced by the full-stack benchmarks (bench.sh, bench-compare.sh): a real
# Redis and Kafka (reused when already running, else started here and stopped
# by stack_down), release builds of cmd/server and cmd/worker with topics, gate
# key, ledger and consumer group of their own. Before stack_up, optional:
# SERVER_PPROF / WORKER_PPROF (pprof addresses), BENCH_PORT, BENCH_METRICS_ADDR,
# KAFKA_CLUSTER=1 (three brokers of kafka-cluster.sh instead of one: topics
# with replication factor 3, min.insync.replicas 2, acks=all as always).
# After it: PORT, METRICS, spid and wpid (server and worker pids).
REDIS="bash deployments/scripts/redis.sh"; KAFKA="bash deployments/scripts/kafka.sh"
KAFKA_TOOLS=$KAFKA   # the Kafka command-line tools, whichever topology
if [[ ${KAFKA_CLUSTER:-0} =~ ^(1|true|yes)$ ]]; then
  KAFKA="bash deployments/scripts/kafka-cluster.sh"
fi
PORT="${BENCH_PORT:-8000}"; METRICS="${BENCH_METRICS_ADDR:-127.0.0.1:9101}"
started="" spid="" wpid="" profilers=()

# enabled NAME: whether the switch in variable NAME is on. 1/true/yes are on;
# unset, empty, 0/false/no are off; anything else stops the script.
enabled() {
  case "${!1:-}" in
    1 | true | yes) return 0 ;;
    "" | 0 | false | no) return 1 ;;
    *) echo "bench: $1 is a switch, 1 or 0 (got ${!1})" >&2; exit 1 ;;
  esac
}

stack_up() {
  trap stack_down EXIT   # from the start: a failed build must not leave Redis and Kafka running
  $REDIS status >/dev/null 2>&1 || { $REDIS start; started+=" redis"; }
  $KAFKA status >/dev/null 2>&1 || { $KAFKA start; started+=" kafka"; }
  export "$($REDIS env)" "$($KAFKA env)"
  go build -trimpath -o bin/ ./cmd/server ./cmd/worker
  go build -C cmd/bench -trimpath -o ../../bin/ .   # the bench is a module of its own
  local id
  id="bench-$(date +%s)"
  export TASKS_TOPIC="tasks-$id" RESULTS_TOPIC="results-$id" RPS_GATE__KEY="{$id}:gate" \
    RPS_WORKER__LEDGER_PREFIX="$id:issued:" RPS_WORKER__LEDGER_TTL=15m RPS_WORKER__GROUP="$id" RPS_LOG__FORMAT=json \
    LOG_LEVEL=warn HOST=127.0.0.1 PORT="$PORT" RPS_HTTP__SHUTDOWN_DELAY=0s
  mkdir -p .cache/bench
  RPS_WORKER__ADMIN_ADDR="$METRICS" RPS_DEBUG__PPROF_ADDR="${WORKER_PPROF:-}" bin/worker >.cache/bench/worker.log 2>&1 & wpid=$!
  RPS_DEBUG__PPROF_ADDR="${SERVER_PPROF:-}" bin/server >.cache/bench/server.log 2>&1 & spid=$!
  local url
  for url in "http://$METRICS/readyz" "http://127.0.0.1:$PORT/readyz"; do
    for _ in $(seq 90); do curl -fsS -o /dev/null "$url" 2>/dev/null && break; sleep 1; done
    curl -fsS -o /dev/null "$url" || { tail -n 20 .cache/bench/*.log; exit 1; }
  done
}

# profile_stack DIR DELAY SECONDS: CPU profiles of server and worker, SECONDS
# long from DELAY seconds on, saved as DIR/{server,worker}.cpu.pprof by
# background jobs whose pids go into profilers (wait for them). Needs
# SERVER_PPROF and WORKER_PPROF.
profile_stack() {
  local who addr
  mkdir -p "$1"
  for who in server worker; do
    addr=$SERVER_PPROF; [[ $who == worker ]] && addr=$WORKER_PPROF
    (sleep "$2" && curl -fsS -o "$1/$who.cpu.pprof" "http://$addr/debug/pprof/profile?seconds=$3" \
      && echo "bench: CPU profile: go tool pprof -top bin/$who $1/$who.cpu.pprof" >&2) &
    profilers+=($!)
  done
}

stack_down() {
  local pids=($spid $wpid)
  if ((${#pids[@]})); then
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
    # the tasks topic is ours alone (the server deletes its reply topic itself)
    $KAFKA_TOOLS class org.apache.kafka.tools.TopicCommand --bootstrap-server "$KAFKA_BOOTSTRAP_SERVERS" \
      --delete --topic "$TASKS_TOPIC" >/dev/null 2>&1 || true
  fi
  [[ $started == *kafka* ]] && $KAFKA stop
  [[ $started == *redis* ]] && $REDIS stop
  return 0
}
