#!/usr/bin/env bash
# The Redis gate against its ceiling (go tool task bench:gate): BenchmarkGate
# (acquire+release pairs through rueidis, ~100 concurrent callers, one run per
# max_flush_delay), then redis-benchmark sending the very same two scripts
# (adapters/redis/redisgate/*.lua) with EVALSHA, 100 clients, pipelined 16 deep, on
# the same Redis. The ceiling in pairs/s is 1 / (1/acquires/s + 1/releases/s);
# each BenchmarkGate line is printed as a share of it.
# Needs REDIS_URL (export "$(bash deployments/scripts/redis.sh env)") and
# redis-benchmark (Debian's redis-tools, installed with redis-server).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
: "${REDIS_URL:?set REDIS_URL, e.g. export \"\$(bash deployments/scripts/redis.sh env)\"}"
command -v redis-benchmark >/dev/null || { echo "bench-gate.sh: redis-benchmark not found (apt-get install redis-tools)" >&2; exit 1; }

out="$(mktemp)"; trap 'rm -f "$out"' EXIT
go test -run '^$' -bench BenchmarkGate -benchtime "${BENCHTIME:-5s}" ./adapters/redis/redisgate/ | tee "$out"

key="{bench-gate-$$}:gate"
sha_acquire="$(redis-cli -u "$REDIS_URL" SCRIPT LOAD "$(cat adapters/redis/redisgate/acquire.lua)")"
# release.lua runs with the fair share's bookkeeping prepended (share.lua), as scripts.go sends it.
sha_release="$(redis-cli -u "$REDIS_URL" SCRIPT LOAD "$(cat adapters/redis/redisgate/share.lua adapters/redis/redisgate/release.lua)")"
# rps <args...>: requests/s of one redis-benchmark run (its CSV's second column).
rps() {
  redis-benchmark -u "$REDIS_URL" -c 100 -n "${CEILING_REQUESTS:-300000}" -P 16 -r 100000 --csv "$@" |
    awk -F'"' 'NR == 2 { print $4 }'
}
# A capacity nobody reaches, so every acquire takes the full path (ZADD), as in BenchmarkGate.
acquire="$(rps EVALSHA "$sha_acquire" 2 "$key" "$key:undone" __rand_int__ 1000000000 60000)"
release="$(rps EVALSHA "$sha_release" 1 "$key" __rand_int__)"
redis-cli -u "$REDIS_URL" DEL "$key" "$key:undone" >/dev/null

awk -v a="$acquire" -v r="$release" '
  BEGIN {
    ceiling = 1 / (1 / a + 1 / r)
    printf "\nredis-benchmark, same scripts, EVALSHA, -c 100 -P 16: acquire %.0f/s, release %.0f/s -> ceiling %.0f pairs/s\n", a, r, ceiling
  }
  /^BenchmarkGate/ { for (i = 1; i < NF; i++) if ($(i + 1) == "pairs/s") printf "%-45s %8.0f pairs/s = %3.0f %% of the ceiling\n", $1, $i, 100 * $i / ceiling }
' "$out"
