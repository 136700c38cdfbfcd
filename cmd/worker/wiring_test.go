package main

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/configs"
	"github.com/1000x-rps-server/rps-server/tests/infra"
)

// A worker told to stop while it waits for an unreachable Redis stops at
// once, saying so, instead of waiting on.
func TestReachRedis_StopsWhenTheWorkerIsStopped(t *testing.T) {
	cfg := configs.RedisConfig{URL: "redis://" + infra.FreeAddr(t) + "/0", DialTimeout: 200 * time.Millisecond, CommandTimeout: time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(700*time.Millisecond, cancel)
	start := time.Now()
	client, err := reachRedis(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.Error(t, err)
	assert.Nil(t, client)
	assert.Contains(t, err.Error(), "redis unreachable since the start")
	assert.ErrorIs(t, err, context.Canceled)
	assert.Less(t, time.Since(start), 3*time.Second, "it stopped waiting when told")
	assert.Greater(t, time.Since(start), 600*time.Millisecond, "it waited for Redis until then")
}
