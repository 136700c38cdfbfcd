#!/usr/bin/env bash
# The fair-share scenario on the full stack (go tool task bench:fair): a real
# Redis and Kafka (bench-stack.sh: reused when already running), release
# builds, one worker and INSTANCES (default 3) servers sharing one gate, on
# 127.0.0.1 ports PORT, PORT+1, … (BENCH_PORT, default 18400). Then
# bench -mode fair: one greedy client (200 unpaced connections from
# 127.0.0.1, pinned round-robin to the instances) and ten polite clients
# (one request at a time, 50–100 ms apart, from 127.0.0.2 … 127.0.0.11),
# for DURATION (default 20s) after WARMUP (default 5s). The gate is read from
# the servers' /metrics (slots in use: the utilisation) and from Redis (ZCARD
# of the gate's key: the leases held, against the capacity).
# AB=1 runs the lone-client comparison instead: INSTANCES servers with fair
# share on and as many with it off (the variable FAIR_OFF, default
# RPS_FAIR__ENABLED=false), each set with a gate of its own, and
# bench -mode lone between them in interleaved slices.
# CAPACITY sets gate.capacity (default: the server's). Bench flags after the
# script's name, e.g. bench-fair.sh -greedy-conns 100. Results in
# benchmarks/<label>/{fair.json,fair.md}. Traffic goes to 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
INSTANCES="${INSTANCES:-3}" DURATION="${DURATION:-20s}" WARMUP="${WARMUP:-5s}"
FAIR_OFF="${FAIR_OFF:-RPS_FAIR__ENABLED=false}"
BENCH_PORT="${BENCH_PORT:-18400}" BENCH_METRICS_ADDR="${BENCH_METRICS_ADDR:-127.0.0.1:19401}"
[[ $INSTANCES =~ ^[1-9][0-9]*$ ]] || { echo "bench-fair: INSTANCES is a whole number above 0 (got $INSTANCES)" >&2; exit 1; }
[[ $FAIR_OFF == *=* ]] || { echo "bench-fair: FAIR_OFF is NAME=value (got $FAIR_OFF)" >&2; exit 1; }
[[ -z ${CAPACITY:-} ]] || export RPS_GATE__CAPACITY="$CAPACITY"
# shellcheck source=bench-stack.sh
. deployments/scripts/bench-stack.sh
enabled AB && ab=1 || ab=""
ulimit -n 65536 2>/dev/null || true
extra=()
fair_down() {
  ((${#extra[@]} == 0)) || { kill -TERM "${extra[@]}" 2>/dev/null || true; wait "${extra[@]}" 2>/dev/null || true; }
  stack_down
}
stack_up   # the worker and the first server, on PORT
trap fair_down EXIT
# server <port> <log> [VAR=value…]: one more server, ready before it returns.
server() {
  local port=$1 log=$2; shift 2
  env PORT="$port" "$@" bin/server >".cache/bench/$log" 2>&1 & extra+=($!)
  local pid=$!
  for _ in $(seq 90); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null && return
    kill -0 "$pid" 2>/dev/null || break   # it exited: say why at once
    sleep 1
  done
  echo "bench-fair: the server on port $port did not start:" >&2; tail -n 20 ".cache/bench/$log" >&2; exit 1
}
urls="http://127.0.0.1:$PORT"
for ((i = 1; i < INSTANCES; i++)); do
  server $((PORT + i)) "server-$i.log"
  urls+=",http://127.0.0.1:$((PORT + i))"
done
label="fair-$(date -u +%Y%m%d-%H%M%S)"
if [[ -z $ab ]]; then
  bin/bench -mode fair -label "$label" -urls "$urls" -redis-url "$REDIS_URL" -gate-key "$RPS_GATE__KEY" \
    -warmup "$WARMUP" -duration "$DURATION" "$@"
  exit
fi
off=""
for ((i = 0; i < INSTANCES; i++)); do   # the same deployment with fair share off, on a gate of its own
  p=$((PORT + INSTANCES + i))
  server "$p" "server-off-$i.log" RPS_GATE__KEY="${RPS_GATE__KEY%:gate}:gate-off" "$FAIR_OFF"
  off+="${off:+,}http://127.0.0.1:$p"
done
bin/bench -mode lone -label "lone-${label#fair-}" -urls "$urls" -urls-off "$off" -warmup "$WARMUP" -duration "$DURATION" "$@"
