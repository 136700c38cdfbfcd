#!/usr/bin/env bash
# Runs every native Go fuzz target for FUZZTIME each (default 10s; the test
# command uses the default, `go tool task fuzz` a longer time). A crash
# leaves its input in the package's testdata/fuzz/, which then runs as a
# regular test case: commit it with the fix.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
fuzztime=${FUZZTIME:-10s}
targets=(
	./adapters/httpapi:FuzzQueue
	./adapters/kafkabroker:FuzzDecodeTask
	./adapters/kafkabroker:FuzzDecodeTaskFast
	./adapters/kafkabroker:FuzzDecodeReply
	./adapters/kafkabroker:FuzzDecodeReplyFast
	./configs:FuzzEnvValue
)
for t in "${targets[@]}"; do
	pkg=${t%%:*} name=${t##*:}
	echo "fuzz.sh: $name ($pkg) for $fuzztime" >&2
	go test -run '^$' -fuzz "^$name\$" -fuzztime "$fuzztime" "$pkg"
done
