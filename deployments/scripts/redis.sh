#!/usr/bin/env bash
# A real Redis (Debian's redis-server) for tests, development and benchmarks,
# on a loopback port of its own, with no persistence.
#
# Usage: deployments/scripts/redis.sh start|stop|status|env
#   start   reuse $REDIS_URL if it answers PING; else start our redis-server
#           (installing Debian's package with apt-get when missing and root)
#   stop    stop the redis-server this script started (never anything else);
#           stopping twice, or when nothing runs, is fine
#   status  exit 0 if the Redis that `env` names answers
#   env     print REDIS_URL=<url>   (export "$(redis.sh env)")
#
# Environment: REDIS_URL (an external Redis to use instead), REDIS_TEST_PORT
# (default 20379, on 127.0.0.1: below Linux's ephemeral range, 32768–60999, so an
# outgoing connection can never hold it). State lives in $REPO/.cache/redis/:
# redis-<port>.pid and redis-<port>.log, so several ports can coexist.
#
# Tests that must stop or restart Redis start throwaway redis-server processes
# of their own (see adapters/redis/redisgate); this shared one is never killed by them.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$SCRIPT_DIR/../.." && pwd)"
STATE="$REPO/.cache/redis"
HOST=127.0.0.1
PORT="${REDIS_TEST_PORT:-20379}"
PIDFILE="$STATE/redis-$PORT.pid"
LOG="$STATE/redis-$PORT.log"
OURS="redis://$HOST:$PORT/0"
START_TIMEOUT=10 # seconds

say() { printf 'redis.sh: %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

# hostport URL: host and port of a redis:// or rediss:// URL, space separated.
hostport() {
	local hp="${1#*://}"
	hp="${hp##*@}"
	hp="${hp%%/*}"
	hp="${hp%%\?*}"
	local host="${hp%:*}" port="${hp##*:}"
	[ "$host" = "$hp" ] && port=6379
	printf '%s %s\n' "${host:-127.0.0.1}" "$port"
}

# tcp_open HOST PORT: a TCP connection succeeds within 2 s.
tcp_open() { timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null; }

# pong URL: exit 0 if Redis at URL answers PING (with its password and TLS,
# through redis-cli when installed; else a bare PING over /dev/tcp).
pong() {
	if command -v redis-cli >/dev/null; then
		[ "$(timeout 3 redis-cli -u "$1" --no-auth-warning ping 2>/dev/null)" = PONG ]
		return
	fi
	local host port
	read -r host port < <(hostport "$1")
	timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2" && printf "PING\r\n" >&3 && head -c 5 <&3 | grep -q PONG' \
		_ "$host" "$port" 2>/dev/null
}

# external: exit 0 if REDIS_URL names a Redis other than ours and it answers.
# A URL that accepts connections but refuses PING (wrong password, not Redis)
# is an error, not a reason to start a second Redis behind the user's back.
external() {
	[ -n "${REDIS_URL:-}" ] && [ "$REDIS_URL" != "$OURS" ] || return 1
	pong "$REDIS_URL" && return 0
	local host port
	read -r host port < <(hostport "$REDIS_URL")
	if tcp_open "$host" "$port"; then
		die "REDIS_URL ($host:$port) accepts connections but does not answer PING (password? TLS?); fix it or unset REDIS_URL"
	fi
	return 1
}

# our_pid: the pid of the redis-server this script started on PORT, if alive.
# redis.pid, the pid file without a port in its name, counts too: a Redis
# started under that name is still this script's to stop.
our_pid() {
	local f pid
	for f in "$PIDFILE" "$STATE/redis.pid"; do
		[ -f "$f" ] || continue
		pid="$(cat "$f")"
		if [ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "redis-server.*:$PORT\b"; then
			echo "$pid"
			return 0
		fi
	done
	return 1
}

install_redis() {
	command -v redis-server >/dev/null && return 0
	if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
		say "redis-server is not installed and this script can only install it as root with apt-get."
		say "Install it (Debian/Ubuntu: sudo apt-get install redis-server), or point REDIS_URL at a"
		say "Redis you run (e.g. docker run -d -p 6379:6379 redis:7 and REDIS_URL=redis://127.0.0.1:6379/0)."
		exit 1
	fi
	say "installing Debian's redis-server with apt-get"
	export DEBIAN_FRONTEND=noninteractive
	# Keep the package from starting its own service on 6379 (we run ours);
	# where it starts anyway (systemd), it is left alone and never used.
	local policy=/usr/sbin/policy-rc.d
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod +x "$policy"
		trap 'rm -f /usr/sbin/policy-rc.d' EXIT
	fi
	if ! apt-cache show redis-server >/dev/null 2>&1; then
		apt-get update -qq
	fi
	apt-get install -y -qq redis-server >/dev/null
	command -v redis-server >/dev/null || die "apt-get did not install redis-server"
}

start() {
	if external; then
		say "using the Redis at REDIS_URL; starting nothing"
		return 0
	fi
	local pid
	if pid="$(our_pid)" && pong "$OURS"; then
		say "already running on $HOST:$PORT (pid $pid)"
		return 0
	fi
	if pong "$OURS"; then
		say "a Redis this script did not start answers on $HOST:$PORT; using it (stop leaves it alone)"
		return 0
	fi
	install_redis
	mkdir -p "$STATE"
	rm -f "$PIDFILE"
	: >"$LOG"
	redis-server --bind "$HOST" --port "$PORT" --save '' --appendonly no \
		--daemonize yes --pidfile "$PIDFILE" --logfile "$LOG" --dir "$STATE" \
		--protected-mode yes --maxclients 10000 ||
		die "redis-server did not start; log: $LOG"
	local deadline=$((SECONDS + START_TIMEOUT))
	until pong "$OURS"; do
		if ((SECONDS >= deadline)); then
			say "redis-server did not answer PING on $HOST:$PORT within ${START_TIMEOUT}s; last log lines ($LOG):"
			tail -n 20 "$LOG" >&2 || true
			exit 1
		fi
		sleep 0.1
	done
	say "started on $HOST:$PORT (pid $(cat "$PIDFILE" 2>/dev/null || echo '?'), log $LOG)"
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
	if [ -f "$STATE/redis.pid" ] && ! kill -0 "$(cat "$STATE/redis.pid")" 2>/dev/null; then
		rm -f "$STATE/redis.pid"
	fi
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status) external || pong "$OURS" ;;
env) if external; then echo "REDIS_URL=$REDIS_URL"; else echo "REDIS_URL=$OURS"; fi ;;
*)
	say "usage: $0 start|stop|status|env"
	exit 2
	;;
esac
