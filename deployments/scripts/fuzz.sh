#!/usr/bin/env bash
# Runs every native Go fuzz target with the budget FUZZTIME each: a count of
# inputs (default 15000x, what the test command uses) or a duration (`go tool
# task fuzz` runs 5m each). A crash leaves its input in the package's
# testdata/fuzz/<target>/, which then runs as a regular test case: commit it
# with the fix.
#
# Go 1.26's fuzz coordinator can fail a target with a bare "context deadline
# exceeded" when a duration budget ends while a worker is mid-input
# (golang/go#75804, fixed in Go 1.27). A count budget has no deadline, so the
# test command never meets it; with a duration, a failure that printed that
# error and wrote no new input is reported as that race, not as a failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
fuzztime=${FUZZTIME:-15000x}
# Every `func FuzzX(f *testing.F)` in the service module's tests (cmd/bench is a
# module of its own), found rather than listed, so a new target can't be left out.
mapfile -t targets < <(
	grep -rE --include='*_test.go' --exclude-dir=.cache -o '^func Fuzz[A-Za-z0-9_]+' . |
		grep -v '^\./cmd/bench/' |
		sed -E 's#^(.*)/[^/]+_test\.go:func (Fuzz.*)$#\1:\2#' | sort -u
)
(( ${#targets[@]} > 0 )) || { echo "fuzz.sh: no fuzz targets found" >&2; exit 1; }

# inputs lists the failing inputs kept for a target, one per line.
inputs() {
	[[ -d $1/testdata/fuzz/$2 ]] || return 0
	find "$1/testdata/fuzz/$2" -type f | sort
}

log=$(mktemp)
trap 'rm -f "$log"' EXIT
for t in "${targets[@]}"; do
	pkg=${t%%:*} name=${t##*:}
	echo "fuzz.sh: $name ($pkg) for $fuzztime" >&2
	before=$(inputs "$pkg" "$name")
	if go test -run '^$' -fuzz "^$name\$" -fuzztime "$fuzztime" "$pkg" 2>&1 | tee "$log"; then
		continue
	fi
	# The race's whole report: the target's FAIL line, then only that error.
	if [[ $(inputs "$pkg" "$name") == "$before" ]] &&
		[[ $(grep -A1 "^--- FAIL: $name " "$log" | tail -n +2) == '    context deadline exceeded' ]]; then
		echo "fuzz.sh: $name: Go's fuzz deadline race (golang/go#75804), no failing input found; not a failure" >&2
		continue
	fi
	echo "fuzz.sh: $name failed; its failing input, if any, is in $pkg/testdata/fuzz/$name/" >&2
	exit 1
done
