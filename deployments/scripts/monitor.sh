#!/usr/bin/env bash
# Server, worker and Prometheus on this machine, over the project's own Redis
# and Kafka (go tool task monitor starts those first): builds both binaries,
# starts Prometheus with observability/prometheus/prometheus.local.yml (it
# scrapes the server on 127.0.0.1:8000 and the worker on 127.0.0.1:9101, as
# configs/local.yaml sets them), prints where to look, then runs the server
# in the foreground. Ctrl-C stops server, worker and Prometheus; Redis and
# Kafka stay up (go tool task infra:down stops them).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
PROM="bash deployments/scripts/prometheus.sh"

export "$(bash deployments/scripts/redis.sh env)" "$(bash deployments/scripts/kafka.sh env)"
go build -o bin/ ./cmd/server ./cmd/worker
PROMETHEUS_CONFIG="$PWD/observability/prometheus/prometheus.local.yml" $PROM start
export "$($PROM env)"

bin/worker -config configs/local.yaml &
worker=$!
trap 'kill -TERM "$worker" 2>/dev/null || true; wait "$worker" 2>/dev/null || true; $PROM stop' EXIT

cat >&2 <<MSG

monitor: everything is starting; look at
  service      http://127.0.0.1:8000      (curl -X POST http://127.0.0.1:8000/queue)
  metrics      http://127.0.0.1:8000/metrics (server), http://127.0.0.1:9101/metrics (worker)
  prometheus   $PROMETHEUS_URL  (HTTP API: $PROMETHEUS_URL/api/v1/query?query=job_url:rps_http_requests:rate1m,
               $PROMETHEUS_URL/api/v1/targets, $PROMETHEUS_URL/api/v1/rules, $PROMETHEUS_URL/api/v1/alerts)
  redis        $REDIS_URL
  kafka        $KAFKA_BOOTSTRAP_SERVERS
  dashboard    observability/grafana/dashboards/rps-server.json (import it into a Grafana pointed at $PROMETHEUS_URL,
               or run docker compose up, which provisions it)
Ctrl-C stops server, worker and Prometheus.

MSG
bin/server -config configs/local.yaml "$@"
