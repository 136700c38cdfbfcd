#!/usr/bin/env bash
# govulncheck with a local vulnerability database: the online one is not
# reachable from every machine, so the database is built from the
# golang.org/x/vulndb module (its data/osv reports) into .cache/vulndb, once
# per vulndb version (~3 min). Newer reports: raise VULNDB_VERSION. With no
# arguments it checks the service's module and the bench's (cmd/bench).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
vulndb=golang.org/x/vulndb@${VULNDB_VERSION:-v0.0.0-20261105234957-e22db6528018}
vuln=golang.org/x/vuln/cmd/govulncheck@${GOVULNCHECK_VERSION:-v1.9.0}
db=.cache/vulndb/${vulndb##*@}
say() { echo "vuln.sh: $*" >&2; }

if [ ! -f "$db/index/db.json" ]; then
	src=$(go mod download -json "$vulndb" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
	[ -d "$src/data/osv" ] || { say "no data/osv in $vulndb"; exit 1; }
	say "building the vulnerability database from $vulndb into $db (a few minutes)"
	rm -rf "$db.tmp" && mkdir -p "$(dirname "$db")"
	go run "${vulndb%@*}/cmd/indexdb@${vulndb##*@}" -vulns "$src/data/osv" -out "$db.tmp"
	mv "$db.tmp" "$db"
fi
if (($#)); then
	exec go run "$vuln" -db "file://$PWD/$db" "$@"
fi
# Both modules: the service, then the bench (a module of its own); a finding
# in the first must not hide the second.
rc=0
go run "$vuln" -db "file://$PWD/$db" ./... || rc=$?
say "the bench (module cmd/bench)"
go run "$vuln" -C cmd/bench -db "file://$PWD/$db" ./... || rc=$?
exit "$rc"
