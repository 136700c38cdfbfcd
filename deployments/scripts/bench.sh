#!/usr/bin/env bash
# Full-stack benchmark (go tool task bench): a real Redis and Kafka (reused when
# already running, else started here and stopped at the end), release builds of
# cmd/server and cmd/worker with topics, gate key, ledger and group of their own,
# then the original's three Locust scenarios (each user on a connection of its
# own, as each Locust user has its own session), an unpaced run at 100 users and a
# sweep. Results in benchmarks/<label>/. Arguments are passed to every bench run
# (later flags win): bench.sh -duration 10s. SCENARIOS=locust-1000u (labels,
# space-separated) runs only those.
# BENCH_PROFILE=1 also serves pprof from the server (127.0.0.1:6060) and the
# worker (:6061) and saves 30 s CPU profiles of both, taken 10 s into the
# unpaced run, as benchmarks/unpaced-100u/{server,worker}.cpu.pprof.
# At the end, bench -summarize prints the runs' table and saves it as
# .cache/bench/results.md; the committed benchmarks/README.md is left alone
# unless named: BENCH_README=benchmarks/README.md also writes the table into
# that file (between its bench:results marker lines).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=bench-stack.sh
. deployments/scripts/bench-stack.sh
SERVER_PPROF="" WORKER_PPROF=""
enabled BENCH_PROFILE && profiling=1 || profiling=""
[[ -z $profiling ]] || SERVER_PPROF=127.0.0.1:6060 WORKER_PPROF=127.0.0.1:6061
stack_up
rc=0
# SCENARIOS (labels, space-separated) runs only those, e.g. SCENARIOS=locust-1000u.
scenarios=" ${SCENARIOS:-locust-10u locust-100u locust-1000u unpaced-100u sweep} "
bench() {
  [[ $scenarios == *" $2 "* ]] || return 0   # $2: the run's label
  bin/bench -url "http://127.0.0.1:$PORT" "$@" || rc=$?
}
# profile <label>: 30 s CPU profiles of server and worker, from 10 s into the run.
profile() { [[ -z $profiling ]] || profile_stack "benchmarks/$1" 10 30; }
bench -label locust-10u   -users 10   -spawn-rate 10  -warmup 5s  -duration 30s -own-conns "$@"
bench -label locust-100u  -users 100  -spawn-rate 100 -warmup 5s  -duration 60s -own-conns "$@"
bench -label locust-1000u -users 1000 -spawn-rate 100 -warmup 10s -duration 60s -own-conns "$@"
profile unpaced-100u
bench -label unpaced-100u -users 100  -spawn-rate 0 -think-min 0s -think-max 0s -warmup 5s -duration 60s "$@"
bench -label sweep -mode sweep -steps 25,50,100,200,400 -warmup 5s -duration 20s -max-p99 50ms -max-errors 0.01 "$@"
for p in "${profilers[@]}"; do wait "$p" || true; done
summarize=(bin/bench -summarize)
[[ -z ${BENCH_README:-} ]] || summarize+=(-readme "$BENCH_README")
read -ra labels <<<"$scenarios"
"${summarize[@]}" "${labels[@]}" | tee .cache/bench/results.md || rc=$?
echo "bench: the runs' table is in .cache/bench/results.md" >&2
exit "$rc"
