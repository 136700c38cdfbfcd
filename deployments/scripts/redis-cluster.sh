#!/usr/bin/env bash
# A Redis Cluster for tests and development: three masters and three replicas
# of Debian's redis-server, on loopback ports of their own, no persistence.
#
# Usage: deployments/scripts/redis-cluster.sh start|stop|status|env
#   start   start the six nodes (each once: a node already answering is kept)
#           and, unless the cluster is formed, form it with redis-cli --cluster
#           create … --cluster-replicas 1; waits until every slot is served
#   stop    stop the nodes this script started (never anything else); stopping
#           twice, or when nothing runs, is fine
#   status  exit 0 if the cluster answers and says cluster_state:ok
#   env     print REDIS_URL=<first node> and RPS_REDIS__CLUSTER__ADDRS=<the others>
#
# Environment:
#   REDIS_CLUSTER_PORTS      six comma-separated client ports (default
#                            21001,…,21006 on 127.0.0.1: below Linux's ephemeral
#                            range, 32768–60999); the first three become masters
#   REDIS_CLUSTER_BUS_PORTS  their cluster-bus ports, same order (default: each
#                            port + 10000)
#   REDIS_CLUSTER_NODE_TIMEOUT  cluster-node-timeout in ms (default 1500): how
#                            long a master may be silent before its replica is
#                            promoted; a failover takes about twice that
#   REDIS_CLUSTER_DIR        state (default $REPO/.cache/redis-cluster): per port
#                            a directory with redis.conf, nodes.conf, redis.pid,
#                            redis.log. A node killed by a test restarts with
#                            `redis-server <dir>/<port>/redis.conf` and rejoins
#                            from its nodes.conf (as a replica after a failover).
#   REDIS_CLUSTER_ARGS       more redis.conf lines, separated by ';' (e.g.
#                            "min-replicas-to-write 1;min-replicas-max-lag 2")
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$SCRIPT_DIR/../.." && pwd)"
STATE="${REDIS_CLUSTER_DIR:-$REPO/.cache/redis-cluster}"
HOST=127.0.0.1
IFS=, read -r -a PORTS <<<"${REDIS_CLUSTER_PORTS:-21001,21002,21003,21004,21005,21006}"
if [ -n "${REDIS_CLUSTER_BUS_PORTS:-}" ]; then
	IFS=, read -r -a BUS <<<"$REDIS_CLUSTER_BUS_PORTS"
else
	BUS=()
	for p in "${PORTS[@]}"; do BUS+=($((p + 10000))); done
fi
NODE_TIMEOUT="${REDIS_CLUSTER_NODE_TIMEOUT:-1500}"
START_TIMEOUT=20 # seconds

say() { printf 'redis-cluster.sh: %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

[ "${#PORTS[@]}" = 6 ] || die "REDIS_CLUSTER_PORTS must list six ports (got ${#PORTS[@]})"
[ "${#BUS[@]}" = 6 ] || die "REDIS_CLUSTER_BUS_PORTS must list six ports (got ${#BUS[@]})"

cli() { timeout 5 redis-cli -h "$HOST" -p "$1" "${@:2}" 2>/dev/null; }
pong() { [ "$(cli "$1" ping)" = PONG ]; }

# our_pid PORT: the pid of the node this script started on PORT, if alive.
our_pid() {
	local f="$STATE/$1/redis.pid" pid
	[ -f "$f" ] || return 1
	pid="$(cat "$f")"
	[ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "redis-server.*:$1\b" && echo "$pid"
}

# write_conf I: the redis.conf of node I (no persistence, cluster mode, no
# eviction: a gate or ledger key evicted would be a lost lease or record).
write_conf() {
	local port="${PORTS[$1]}" dir="$STATE/${PORTS[$1]}"
	mkdir -p "$dir"
	{
		printf 'bind %s\nport %s\ncluster-port %s\ndir %s\n' "$HOST" "$port" "${BUS[$1]}" "$dir"
		printf 'pidfile %s/redis.pid\nlogfile %s/redis.log\ndaemonize yes\n' "$dir" "$dir"
		printf 'save ""\nappendonly no\nprotected-mode yes\nmaxclients 10000\n'
		printf 'maxmemory-policy noeviction\n'
		printf 'cluster-enabled yes\ncluster-config-file %s/nodes.conf\n' "$dir"
		printf 'cluster-node-timeout %s\n' "$NODE_TIMEOUT"
		# A replica of a master that died takes over however stale it is:
		# nothing is persisted, so waiting for the master would wait forever.
		printf 'cluster-replica-validity-factor 0\n'
		# While one master is down (before its replica takes over) the other
		# masters keep serving their slots: the gate lives on one slot, the
		# ledger's records on every master.
		printf 'cluster-require-full-coverage no\n'
		if [ -n "${REDIS_CLUSTER_ARGS:-}" ]; then
			tr ';' '\n' <<<"$REDIS_CLUSTER_ARGS"
			echo
		fi
	} >"$dir/redis.conf"
}

cluster_ok() { cli "${PORTS[0]}" cluster info | grep -q '^cluster_state:ok'; }

start() {
	command -v redis-server >/dev/null && command -v redis-cli >/dev/null ||
		die "redis-server and redis-cli are needed (Debian: apt-get install redis-server; deployments/scripts/redis.sh start installs it as root)"
	local i
	for i in "${!PORTS[@]}"; do
		if our_pid "${PORTS[$i]}" >/dev/null && pong "${PORTS[$i]}"; then
			continue
		fi
		pong "${PORTS[$i]}" && die "a Redis this script did not start answers on $HOST:${PORTS[$i]}; choose other REDIS_CLUSTER_PORTS"
		rm -rf "${STATE:?}/${PORTS[$i]}"
		write_conf "$i"
		redis-server "$STATE/${PORTS[$i]}/redis.conf" || die "redis-server on ${PORTS[$i]} did not start; log: $STATE/${PORTS[$i]}/redis.log"
	done
	local deadline=$((SECONDS + START_TIMEOUT))
	for i in "${!PORTS[@]}"; do
		until pong "${PORTS[$i]}"; do
			((SECONDS < deadline)) || die "node ${PORTS[$i]} did not answer PING within ${START_TIMEOUT}s; log: $STATE/${PORTS[$i]}/redis.log"
			sleep 0.1
		done
	done
	if [ "$(cli "${PORTS[0]}" cluster info | grep -c '^cluster_slots_assigned:16384')" = 0 ]; then
		local addrs=()
		for i in "${!PORTS[@]}"; do addrs+=("$HOST:${PORTS[$i]}"); done
		timeout 30 redis-cli --cluster create "${addrs[@]}" --cluster-replicas 1 --cluster-yes >"$STATE/create.log" 2>&1 ||
			{ cat "$STATE/create.log" >&2; die "redis-cli --cluster create failed"; }
	fi
	until cluster_ok && [ "$(replicas)" = 3 ]; do
		((SECONDS < deadline)) || die "cluster not ok with three replicas within ${START_TIMEOUT}s"
		sleep 0.1
	done
	say "started: masters and replicas on $HOST ports ${PORTS[*]} (state $STATE)"
}

# replicas: how many replicas the first node sees connected to a master.
replicas() { cli "${PORTS[0]}" cluster nodes | awk '$3 ~ /slave/ && $3 !~ /fail/ && $8 == "connected"' | wc -l; }

stop() {
	local port pid
	for port in "${PORTS[@]}"; do
		pid="$(our_pid "$port")" || continue
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$pid" 2>/dev/null || true
	done
	for port in "${PORTS[@]}"; do rm -f "$STATE/$port/redis.pid"; done
	say "stopped"
}

env_() {
	local others=()
	for p in "${PORTS[@]:1}"; do others+=("$HOST:$p"); done
	echo "REDIS_URL=redis://$HOST:${PORTS[0]}"
	(IFS=,; echo "RPS_REDIS__CLUSTER__ADDRS=${others[*]}")
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status) cluster_ok ;;
env) env_ ;;
*)
	say "usage: $0 start|stop|status|env"
	exit 2
	;;
esac
