package infra

import (
	"context"
	"testing"

	"github.com/redis/rueidis"
	"github.com/stretchr/testify/require"
)

// RedisClient is a raw client of the Redis at url, to look at a gate or a
// ledger from outside; client-side caching is off, so every read asks Redis.
// It is closed when the test ends.
func RedisClient(t testing.TB, url string) rueidis.Client {
	t.Helper()
	opt, err := rueidis.ParseURL(url)
	require.NoError(t, err)
	opt.DisableCache = true
	c, err := rueidis.NewClient(opt)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// ZCard is the size of the sorted set at key: for a Redis gate, the slots
// it holds.
func ZCard(t testing.TB, c rueidis.Client, key string) int64 {
	t.Helper()
	n, err := c.Do(context.Background(), c.B().Zcard().Key(key).Build()).AsInt64()
	require.NoError(t, err)
	return n
}
