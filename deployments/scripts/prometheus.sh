#!/usr/bin/env bash
# A real Prometheus (Debian's prometheus package, with promtool) for
# development and tests, on a loopback port of its own, scraping with the
# project's config (observability/prometheus/prometheus.yml) and rules.
#
# Usage: deployments/scripts/prometheus.sh install|start|stop|status|env
#   install  install Debian's prometheus with apt-get when prometheus or
#            promtool is missing (as root); the package's own service is
#            kept from starting
#   start    install when missing, then start our Prometheus (fresh data
#            each start) and wait until it answers /-/ready
#   stop     stop the Prometheus this script started (never anything else)
#   status   exit 0 if ours answers /-/ready
#   env      print PROMETHEUS_URL=<url>   (export "$(prometheus.sh env)")
#
# Environment: PROMETHEUS_TEST_PORT (default 20090, on 127.0.0.1, below the
# ephemeral range), PROMETHEUS_CONFIG (default the project's prometheus.yml).
# State lives in $REPO/.cache/prometheus/: prometheus-<port>.pid, .log, data-<port>/.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$SCRIPT_DIR/../.." && pwd)"
STATE="$REPO/.cache/prometheus"
HOST=127.0.0.1
PORT="${PROMETHEUS_TEST_PORT:-20090}"
CONFIG="${PROMETHEUS_CONFIG:-$REPO/observability/prometheus/prometheus.yml}"
PIDFILE="$STATE/prometheus-$PORT.pid"
LOG="$STATE/prometheus-$PORT.log"
DATA="$STATE/data-$PORT"
URL="http://$HOST:$PORT"
START_TIMEOUT=30 # seconds

say() { printf 'prometheus.sh: %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

ready() { curl -fsS -o /dev/null --max-time 2 "$URL/-/ready" 2>/dev/null; }

# our_pid: the pid of the prometheus this script started on PORT, if alive.
our_pid() {
	[ -f "$PIDFILE" ] || return 1
	local pid
	pid="$(cat "$PIDFILE")"
	if [ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "prometheus.*$HOST:$PORT"; then
		echo "$pid"
		return 0
	fi
	return 1
}

install() {
	command -v prometheus >/dev/null && command -v promtool >/dev/null && return 0
	if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
		say "prometheus/promtool are not installed and this script can only install them as root with apt-get."
		say "Install them (Debian/Ubuntu: sudo apt-get install prometheus), or put both on PATH."
		exit 1
	fi
	say "installing Debian's prometheus with apt-get"
	export DEBIAN_FRONTEND=noninteractive
	# Keep the package from starting its own service on 9090 (we run ours).
	local policy=/usr/sbin/policy-rc.d
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod +x "$policy"
		trap 'rm -f /usr/sbin/policy-rc.d' EXIT
	fi
	if ! apt-cache show prometheus >/dev/null 2>&1; then
		apt-get update -qq
	fi
	apt-get install -y -qq --no-install-recommends prometheus >/dev/null
	command -v prometheus >/dev/null && command -v promtool >/dev/null || die "apt-get did not install prometheus and promtool"
}

start() {
	local pid
	if pid="$(our_pid)" && ready; then
		say "already running at $URL (pid $pid)"
		return 0
	fi
	install
	promtool check config "$CONFIG" >/dev/null || die "promtool check config $CONFIG failed"
	mkdir -p "$STATE"
	rm -rf "$DATA"
	: >"$LOG"
	prometheus --config.file="$CONFIG" --storage.tsdb.path="$DATA" \
		--web.listen-address="$HOST:$PORT" --web.enable-lifecycle >>"$LOG" 2>&1 &
	echo $! >"$PIDFILE"
	local deadline=$((SECONDS + START_TIMEOUT))
	until ready; do
		if ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null || ((SECONDS >= deadline)); then
			say "prometheus did not become ready at $URL; last log lines ($LOG):"
			tail -n 20 "$LOG" >&2 || true
			exit 1
		fi
		sleep 0.2
	done
	say "started at $URL (pid $(cat "$PIDFILE"), config $CONFIG, log $LOG)"
}

stop() {
	local pid
	if pid="$(our_pid)"; then
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$pid" 2>/dev/null || true
		say "stopped (pid $pid)"
	fi
	rm -f "$PIDFILE"
}

case "${1:-}" in
install) install ;;
start) start ;;
stop) stop ;;
status) ready ;;
env) echo "PROMETHEUS_URL=$URL" ;;
*)
	say "usage: $0 install|start|stop|status|env"
	exit 2
	;;
esac
