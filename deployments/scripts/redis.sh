#!/usr/bin/env bash
# A real Redis (Debian's redis-server) for tests, development and benchmarks,
# on a loopback port of its own, with no persistence.
#
# Usage: deployments/scripts/redis.sh start|stop|status|env
#   start   reuse $REDIS_URL if it answers; else start our redis-server
#           (installing Debian's package with apt-get when missing and root)
#   stop    stop the redis-server this script started (never anything else)
#   status  exit 0 if our Redis (or the external one) answers
#   env     print REDIS_URL=<url>   (export "$(redis.sh env)")
#
# Environment: REDIS_URL (external Redis to use), REDIS_TEST_PORT (default 36379).
# State lives in $REPO/.cache/redis/: redis.pid, redis.log.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$SCRIPT_DIR/../.." && pwd)"
STATE="$REPO/.cache/redis"
PIDFILE="$STATE/redis.pid"
LOG="$STATE/redis.log"
HOST=127.0.0.1
PORT="${REDIS_TEST_PORT:-36379}"
OURS="redis://$HOST:$PORT/0"

say() { printf 'redis.sh: %s\n' "$*" >&2; }

# answers URL: exit 0 if a Redis answers PING there.
answers() {
	local hostport="${1#*://}"
	hostport="${hostport#*@}"
	hostport="${hostport%%/*}"
	local host="${hostport%:*}" port="${hostport##*:}"
	[ "$host" = "$hostport" ] && port=6379
	timeout 2 bash -c "exec 3<>/dev/tcp/$host/$port && printf 'PING\r\n' >&3 && head -c 5 <&3 | grep -q PONG" 2>/dev/null
}

external() { [ -n "${REDIS_URL:-}" ] && [ "$REDIS_URL" != "$OURS" ] && answers "$REDIS_URL"; }

running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null && answers "$OURS"; }

install_redis() {
	command -v redis-server >/dev/null && return 0
	if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
		say "redis-server is not installed. Install it (Debian/Ubuntu: sudo apt-get install redis-server)"
		say "or point REDIS_URL at a Redis you run (e.g. docker run -p 6379:6379 redis)."
		exit 1
	fi
	say "installing Debian's redis-server with apt-get"
	# Keep the package from starting its own service on 6379: we run ours.
	local policy=/usr/sbin/policy-rc.d created=0
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created=1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq redis-server >/dev/null 2>&1 ||
		{ apt-get update -qq >/dev/null && apt-get install -y -qq redis-server >/dev/null; }
	[ "$created" = 1 ] && rm -f "$policy"
	command -v redis-server >/dev/null || { say "apt-get did not install redis-server"; exit 1; }
}

start() {
	if external; then
		say "using the existing Redis at REDIS_URL; starting nothing"
		return 0
	fi
	if running; then
		say "already running on $HOST:$PORT (pid $(cat "$PIDFILE"))"
		return 0
	fi
	install_redis
	mkdir -p "$STATE"
	rm -f "$PIDFILE"
	redis-server --bind "$HOST" --port "$PORT" --save '' --appendonly no \
		--daemonize yes --pidfile "$PIDFILE" --logfile "$LOG" --dir "$STATE" \
		--protected-mode yes --maxclients 10000
	for _ in $(seq 1 100); do
		if answers "$OURS"; then
			say "started on $HOST:$PORT (pid $(cat "$PIDFILE"))"
			return 0
		fi
		sleep 0.1
	done
	say "redis-server did not answer on $HOST:$PORT within 10 s; last log lines:"
	tail -n 20 "$LOG" >&2 || true
	exit 1
}

stop() {
	[ -f "$PIDFILE" ] || return 0
	local pid
	pid="$(cat "$PIDFILE")"
	if kill -0 "$pid" 2>/dev/null && grep -q redis-server "/proc/$pid/cmdline" 2>/dev/null; then
		kill "$pid"
		for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null || true
		say "stopped (pid $pid)"
	fi
	rm -f "$PIDFILE"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status) external || running ;;
env) if external; then echo "REDIS_URL=$REDIS_URL"; else echo "REDIS_URL=$OURS"; fi ;;
*) say "usage: $0 start|stop|status|env"; exit 2 ;;
esac
