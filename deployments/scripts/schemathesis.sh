#!/usr/bin/env bash
# Runs schemathesis (all checks) against the embedded server on a loopback
# port: the server's own /openapi.yaml is the contract. Installs schemathesis
# into .cache/venv (gitignored) on first use, like redis.sh and kafka.sh
# install what they run. Needs python3 with venv.
#
#   SCHEMATHESIS_PORT  port of the server under test (default 28080)
#   ST_MAX_EXAMPLES    examples per operation (default 200)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

version=4.32.5
venv=.cache/venv
port=${SCHEMATHESIS_PORT:-28080}
say() { echo "schemathesis.sh: $*" >&2; }

if ! "$venv/bin/st" --version 2>/dev/null | grep -q "$version"; then
	say "installing schemathesis $version into $venv"
	python3 -m venv "$venv"
	"$venv/bin/pip" install -q "schemathesis==$version"
fi

mkdir -p .cache/schemathesis
go build -o .cache/schemathesis/server ./cmd/server
log=.cache/schemathesis/server.log
# Embedded mode (no Redis, no Kafka); a large gate so only the contract is tested.
RPS_HTTP__HOST=127.0.0.1 RPS_HTTP__PORT="$port" RPS_GATE__CAPACITY=10000 LOG_LEVEL=warn \
	.cache/schemathesis/server -env "" >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true' EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 100); do
	curl -fsS "$base/readyz" >/dev/null 2>&1 && break
	kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
	sleep 0.1
done

"$venv/bin/st" run "$base/openapi.yaml" --url "$base" --checks all \
	--max-examples "${ST_MAX_EXAMPLES:-200}" --seed 1 --no-color "$@"
