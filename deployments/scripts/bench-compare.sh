#!/usr/bin/env bash
# POST /queue against GET / on the same full stack, in the same run (go tool
# task bench:compare): wrk -t2 -c100, unpaced, POST with no body. RUNS runs
# (default 3); each measures DURATION (default 20s) of each route, in SLICES
# (default 4) alternating wrk sessions per route (GET / then POST /queue), so
# both routes see the same machine while its speed drifts. Prints per run:
# req/s, p50/p90/p99/max (pooled over the slices), the ratio of the two
# rates, 429s, 5xx, socket errors, answers without a code, and the CPU
# seconds per 1,000 requests of each process (server, worker, Redis, Kafka,
# wrk) from /proc; and duplicate codes over every answer of the runs and the
# flood. Redis and Kafka must run on this machine (their CPU is read there).
# FLOOD=1 adds a flood: wrk -c1000 on POST /queue while a second wrk (-c10,
# each connection pausing 10 ms after each answer) measures GET / latency and bin/bench (20 users on POST /queue, from
# 127.0.0.1 like the flood, each on a connection of its own, sending again at
# once after a 200 and after the Retry-After of a 429, as a well-behaved
# client does) the latency of the admitted (200) answers apart from the 429s,
# which wrk cannot tell apart (the flood's own connections ignore
# Retry-After, so the server holds each one back: http.refusal_pause); the
# same bench alone just before
# the flood is the reference measured the same way; and the gate's script
# calls in Redis (INFO commandstats) over the flood. PROFILE=1 first saves 10 s CPU profiles of server
# and worker during POST /queue alone, outside the measured runs
# (server.cpu.pprof, worker.cpu.pprof). Both are switches: 1 (or true, yes)
# or 0 (or false, no, empty). Raw figures in benchmarks/compare-<time>/.
# Extra server/worker settings come from the environment (RPS_*), as always.
# KAFKA_CLUSTER=1 runs it on three brokers (bench-stack.sh); bench:compare:cluster
# runs it on one broker and then on three, and compares the two.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
RUNS="${RUNS:-3}" DURATION="${DURATION:-20s}" CONNS="${CONNS:-100}" SLICES="${SLICES:-4}"
# The warm-up is left out of the figures: WARMUP (default 30s) of POST /queue,
# then more 10 s slices until the Kafka broker's JIT compiler threads used
# under 2 % of a core in two slices in a row, up to WARMUP_MAX (default 180s)
# in all. A broker started moments before compiles for its first ~70 s under
# this load (its compiler threads then cost as much CPU as its request
# handling); a broker in service has long finished, so the runs measure it warm.
WARMUP="${WARMUP:-30s}" WARMUP_MAX="${WARMUP_MAX:-180s}"
dur_s=${DURATION%s}
[[ $dur_s =~ ^[0-9]+$ ]] || { echo "bench-compare: DURATION is whole seconds, like 20s (got $DURATION)" >&2; exit 1; }
for v in WARMUP WARMUP_MAX; do
  [[ ${!v} =~ ^[0-9]+s$ ]] || { echo "bench-compare: $v is whole seconds, like 30s (got ${!v})" >&2; exit 1; }
done
for v in RUNS SLICES CONNS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "bench-compare: $v is a whole number above 0 (got ${!v})" >&2; exit 1; }
done
# shellcheck source=bench-stack.sh
. deployments/scripts/bench-stack.sh
enabled FLOOD && flood=1 || flood=""
enabled PROFILE && profile=1 || profile=""
slice_s=$(( dur_s / SLICES > 0 ? dur_s / SLICES : 1 ))   # wrk takes whole seconds
THREADS=$((CONNS < 2 ? 1 : 2))
if ! command -v wrk >/dev/null; then   # Debian's wrk, installed once when we may
  [[ $(id -u) == 0 ]] || { echo "bench-compare: wrk is missing: apt-get install wrk" >&2; exit 1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null || { echo "bench-compare: apt-get install wrk failed" >&2; exit 1; }
fi
ulimit -n 65536 2>/dev/null || true
SERVER_PPROF="" WORKER_PPROF=""
[[ -z $profile ]] || SERVER_PPROF=127.0.0.1:6060 WORKER_PPROF=127.0.0.1:6061
stack_up
out="benchmarks/compare-$(date -u +%Y%m%d-%H%M%S)"; mkdir -p "$out"

listener_pid() { ss -Hltnp "sport = :$1" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2; }
redis_port=${REDIS_URL##*:}; redis_pid=$(listener_pid "${redis_port%%/*}")
# Every broker of the bootstrap list (three with KAFKA_CLUSTER=1): their CPU is summed.
kafka_pids=()
IFS=, read -ra kafka_addrs <<<"$KAFKA_BOOTSTRAP_SERVERS"
for a in "${kafka_addrs[@]}"; do
  p=$(listener_pid "${a##*:}"); [[ -z $p ]] || kafka_pids+=("$p")
done
kafka_pid=${kafka_pids[0]:-}
[[ -n $redis_pid && -n $kafka_pid ]] || {
  echo "bench-compare: Redis ($REDIS_URL) and Kafka ($KAFKA_BOOTSTRAP_SERVERS) must listen on this machine: their CPU is read from /proc" >&2
  exit 1
}
# cpu_ticks: user+system clock ticks of server, worker, Redis and Kafka (its
# brokers summed), space-separated.
cpu_ticks() {
  local p; for p in "$spid" "$wpid" "$redis_pid"; do
    awk '{printf "%d ", $14+$15}' "/proc/$p/stat"; done
  for p in "${kafka_pids[@]}"; do awk '{print $14+$15}' "/proc/$p/stat"; done | awk '{t += $1} END {printf "%d ", t}'
}
# measure <name> <wrk args...>: one wrk run; its figures, the processes' CPU
# ticks before and after and wrk's own CPU seconds go to $out/<name>.json.
measure() {
  local name=$1; shift
  local before after wrk_cpu
  before=$(cpu_ticks)
  wrk_cpu=$( (WRK_RESULT="$out/$name.wrk.json" WRK_CODES="$out/$name.codes" wrk "$@" >"$out/$name.wrk.txt"; times) | tail -1)
  after=$(cpu_ticks)
  python3 - "$out/$name" "$before" "$after" "$wrk_cpu" "$(getconf CLK_TCK)" <<'PY'
import json, re, sys
path, before, after, wrk, hz = sys.argv[1:]
r = json.load(open(path + ".wrk.json"))
secs = lambda m, s: float(m) * 60 + float(s)
u, s = re.findall(r"(\d+)m([\d.]+)s", wrk)
d = [(int(a) - int(b)) / int(hz) for a, b in zip(after.split(), before.split())]
r["cpu_seconds"] = dict(zip(["server", "worker", "redis", "kafka"], d), wrk=secs(*u) + secs(*s))
json.dump(r, open(path + ".json", "w"))
PY
}
# jit_ticks: "<thread id> <user+system clock ticks>" of each JIT compiler
# thread of the Kafka JVM. Per thread, since the JVM starts and ends them as
# needed; the name ("C2 CompilerThre") holds a space, so the fields of stat
# are counted after its closing parenthesis.
jit_ticks() {
  local t st f
  for t in /proc/"$kafka_pid"/task/*; do
    [[ $(<"$t/comm") == C[12]\ CompilerThre* ]] 2>/dev/null || continue
    st=$(<"$t/stat") 2>/dev/null || continue
    read -ra f <<<"${st##*) }"   # f[0] is field 3 (state): utime is f[11], stime f[12]
    echo "${t##*/} $((f[11] + f[12]))"
  done
}
# jit_since <jit_ticks output>: the compiler threads' ticks since then.
jit_since() { awk 'NR == FNR { b[$1] = $2; next } { d += $2 - b[$1] } END { print d + 0 }' <(echo "$1") <(jit_ticks); }
url="http://127.0.0.1:$PORT"
echo "bench-compare: warm-up ($WARMUP of POST /queue, left out)" >&2
WRK_RESULT=/dev/null wrk -t"$THREADS" -c"$CONNS" -d"$WARMUP" -s deployments/scripts/wrk/queue.lua "$url/queue" >/dev/null
warm_s=${WARMUP%s} warm_max_s=${WARMUP_MAX%s} hz=$(getconf CLK_TCK)
if [[ -n $kafka_pid ]]; then   # then until the broker's JIT has settled
  settled=0
  while ((settled < 2 && warm_s + 10 <= warm_max_s)); do
    before=$(jit_ticks)
    WRK_RESULT=/dev/null wrk -t"$THREADS" -c"$CONNS" -d10s -s deployments/scripts/wrk/queue.lua "$url/queue" >/dev/null
    warm_s=$((warm_s + 10)) jit=$(( $(jit_since "$before") * 100 / (10 * hz) ))
    echo "bench-compare: warm-up at ${warm_s} s: Kafka's JIT compiler used ${jit} % of a core over the last 10 s" >&2
    settled=$(( jit < 2 ? settled + 1 : 0 ))
  done
fi
echo "$warm_s" >"$out/warmup_seconds"
echo "$CONNS" >"$out/connections"
if [[ -n $profile ]]; then   # 10 s CPU profiles during 14 s of POST /queue alone
  echo "bench-compare: CPU profiles of server and worker during 14 s of POST /queue" >&2
  profile_stack "$out" 2 10
  WRK_RESULT=/dev/null wrk -t"$THREADS" -c"$CONNS" -d14s -s deployments/scripts/wrk/queue.lua "$url/queue" >/dev/null
  for p in "${profilers[@]}"; do wait "$p" || true; done
fi
for i in $(seq "$RUNS"); do
  echo "bench-compare: run $i of $RUNS: GET / and POST /queue, $DURATION each in $SLICES alternating slices" >&2
  for j in $(seq "$SLICES"); do
    measure "run$i-get-$j" -t"$THREADS" -c"$CONNS" -d"${slice_s}s" --latency -s deployments/scripts/wrk/get.lua "$url/"
    measure "run$i-queue-$j" -t"$THREADS" -c"$CONNS" -d"${slice_s}s" --latency -s deployments/scripts/wrk/queue.lua "$url/queue"
  done
done
# gate_calls: the script calls Redis has served so far (EVALSHA, EVAL, FCALL
# and their _RO forms: the gate's only commands; the worker's ledger uses SET),
# or nothing without redis-cli. Redis-wide: other clients' scripts count too.
gate_calls() {
  command -v redis-cli >/dev/null || return 0
  redis-cli -u "$REDIS_URL" --no-auth-warning INFO commandstats |
    awk -F'[:,=]' '/^cmdstat_(evalsha|eval|evalsha_ro|eval_ro|fcall|fcall_ro):/ { n += $3 } END { print n + 0 }'
}
# measurer <label>: bin/bench, 20 users on POST /queue for DURATION less 2 s
# (at least 1 s), each on a connection of its own, no think time but a 429's
# Retry-After, no warm-up, results in $out/<label>/summary.json.
# It connects from 127.0.0.1, as wrk does: the fair share keys clients by
# address, so under the flood it is part of the flooding client, not shielded
# from it. Its exit status goes to $out/<label>.rc (3: duplicate or missing codes).
measurer() {
  local rc=0
  bin/bench -mode closed -users 20 -spawn-rate 0 -think-min 0s -think-max 0s -retry-after -own-conns -weights queue=1 \
    -warmup 0s -duration "$(( dur_s > 2 ? dur_s - 2 : 1 ))s" -url "$url" -out "$out" -label "$1" \
    >"$out/$1.txt" 2>&1 || rc=$?
  echo "$rc" >"$out/$1.rc"
  ((rc == 0)) || echo "bench-compare: the measurer ($1) exited $rc: see $out/$1.txt" >&2
}
if [[ -n $flood ]]; then
  echo "bench-compare: the flood's measurer alone (20 users on POST /queue)" >&2
  measurer flood-alone
  echo "bench-compare: flood: 1,000 connections on POST /queue, GET / beside it (10 connections, 10 ms apart), the measurer from 1 s in" >&2
  calls_before=$(gate_calls)
  (WRK_RESULT="$out/flood-get.json" wrk -t1 -c10 -d"$DURATION" --latency -s deployments/scripts/wrk/get-paced.lua "$url/" >"$out/flood-get.wrk.txt") &
  get_pid=$!
  (sleep 1 && measurer flood-measurer) &   # its window lies inside the flood's
  measurer_pid=$!
  measure flood-queue -t2 -c1000 -d"$DURATION" --latency -s deployments/scripts/wrk/queue.lua "$url/queue"
  wait "$get_pid"; wait "$measurer_pid"
  calls_after=$(gate_calls)
  [[ -z $calls_before ]] || echo $((calls_after - calls_before)) >"$out/flood-gate-calls"
fi
python3 deployments/scripts/wrk/compare_report.py "$out" "$RUNS" "$SLICES" | tee "$out/report.md"
