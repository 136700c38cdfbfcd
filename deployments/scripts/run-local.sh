#!/usr/bin/env bash
# Server and worker against the project's own Redis and Kafka (go tool task
# run:local starts them first): builds both, starts the worker in the
# background, runs the server in the foreground, and stops the worker when
# the server ends (Ctrl-C stops both). Arguments go to the server.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
go build -o bin/ ./cmd/server ./cmd/worker
bin/worker -config configs/local.yaml &
worker=$!
trap 'kill -TERM "$worker" 2>/dev/null || true; wait "$worker" 2>/dev/null || true' EXIT
bin/server -config configs/local.yaml "$@"
