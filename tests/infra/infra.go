// Package infra gives integration tests the real Redis and Kafka that the
// test command started, and enforces the rule: outside CI a missing server
// skips the test; in CI (CI set) it fails it, so integration tests never skip.
// Outside CI, go test -short skips them all, servers or not (test:unit).
package infra

import (
	"os"
	"os/exec"
	"testing"
)

// RedisURL returns REDIS_URL, or skips (fails in CI) when it is unset.
func RedisURL(t testing.TB) string {
	t.Helper()
	return need(t, "REDIS_URL", `export "$(bash deployments/scripts/redis.sh env)" after redis.sh start`)
}

// KafkaBootstrap returns KAFKA_BOOTSTRAP_SERVERS, or skips (fails in CI)
// when it is unset.
func KafkaBootstrap(t testing.TB) string {
	t.Helper()
	return need(t, "KAFKA_BOOTSTRAP_SERVERS", `export "$(bash deployments/scripts/kafka.sh env)" after kafka.sh start`)
}

func need(t testing.TB, name, hint string) string {
	t.Helper()
	skipShort(t)
	if v := os.Getenv(name); v != "" {
		return v
	}
	why := name + " is not set: run go tool task test, or " + hint
	if os.Getenv("CI") != "" {
		t.Fatal(why + " (CI is set: integration tests never skip)")
	}
	t.Skip(why)
	return ""
}

// RedisServerBin returns the redis-server binary (REDIS_SERVER_BIN, else from
// PATH), for tests that start and stop a Redis of their own.
func RedisServerBin(t testing.TB) string {
	t.Helper()
	skipShort(t)
	if bin := os.Getenv("REDIS_SERVER_BIN"); bin != "" {
		return bin
	}
	if bin, err := exec.LookPath("redis-server"); err == nil {
		return bin
	}
	return need(t, "REDIS_SERVER_BIN", "put redis-server on PATH (deployments/scripts/redis.sh start installs it)")
}

// Tool returns the path of a command-line tool an integration test runs
// (the env variable, else name from PATH), or skips (fails in CI) when it
// is missing; hint says how to get it.
func Tool(t testing.TB, env, name, hint string) string {
	t.Helper()
	skipShort(t)
	if bin := os.Getenv(env); bin != "" {
		return bin
	}
	if bin, err := exec.LookPath(name); err == nil {
		return bin
	}
	return need(t, env, hint)
}

// skipShort skips an integration test under go test -short, unless CI is
// set: there integration tests never skip.
func skipShort(t testing.TB) {
	t.Helper()
	if testing.Short() && os.Getenv("CI") == "" {
		t.Skip("integration test: -short runs the unit tests only")
	}
}
