#!/usr/bin/env bash
# The cost of replication (go tool task bench:compare:cluster): bench-compare.sh
# on the one-node Kafka, then on three brokers (kafka-cluster.sh: replication
# factor 3, min.insync.replicas 2; producers send acks=all in both), same Redis,
# same machine, one command; then POST /queue's rate, p99 and Kafka's CPU per
# request on three brokers as a ratio of one. RUNS (default 2) and the other
# settings of bench-compare.sh apply to both halves.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
export RUNS="${RUNS:-2}"
started=""
bash deployments/scripts/kafka-cluster.sh status >/dev/null 2>&1 || { bash deployments/scripts/kafka-cluster.sh start; started=1; }
trap '[[ -z $started ]] || bash deployments/scripts/kafka-cluster.sh stop' EXIT
dirs=()
for cluster in 0 1; do
  echo "bench-compare-cluster: $([[ $cluster == 1 ]] && echo "three brokers" || echo "one broker")" >&2
  before=$(ls -d benchmarks/compare-* 2>/dev/null || true)
  KAFKA_CLUSTER=$cluster bash deployments/scripts/bench-compare.sh
  dirs+=("$(comm -13 <(echo "$before") <(ls -d benchmarks/compare-*) | tail -1)")
  sleep 1   # a new directory name (its time) for the second half
done
python3 deployments/scripts/wrk/cluster_ratio.py "${dirs[0]}" "${dirs[1]}" "$RUNS" | tee "${dirs[1]}/cluster-ratio.md"
