package infra

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/adapters/redis/redisclient"
)

// AdapterClient is a client of the Redis at url built as the binaries build
// theirs (redisclient.New), for the adapters a test opens on it: 1 s to
// dial, 1 s per command, unless change says otherwise. It is closed when
// the test ends, after those adapters (t.Cleanup runs the last added first).
func AdapterClient(t testing.TB, url string, change ...func(*redisclient.Config)) rueidis.Client {
	t.Helper()
	cfg := redisclient.Config{URL: url, ClientName: "rps-test", DialTimeout: time.Second, CommandTimeout: time.Second}
	for _, c := range change {
		c(&cfg)
	}
	c, err := redisclient.New(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

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

// RedisCPU is the user+sys CPU time the Redis server behind c has used so
// far (INFO cpu): Redis's own figure, wherever it runs.
func RedisCPU(t testing.TB, c rueidis.Client) time.Duration {
	t.Helper()
	info, err := c.Do(context.Background(), c.B().Info().Section("cpu").Build()).ToString()
	require.NoError(t, err)
	var total float64
	for line := range strings.Lines(info) {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && (k == "used_cpu_sys" || k == "used_cpu_user") {
			f, err := strconv.ParseFloat(v, 64)
			require.NoError(t, err)
			total += f
		}
	}
	return time.Duration(total * float64(time.Second))
}

// PrefixMemory is what the Redis behind c holds under prefix: how many keys,
// and the sum of their MEMORY USAGE (key, value and Redis's own overhead
// per key, as Redis counts it). It scans, so other tests' keys beside the
// prefix do not count.
func PrefixMemory(t testing.TB, c rueidis.Client, prefix string) (keys, bytes int64) {
	t.Helper()
	ctx := context.Background()
	var cursor uint64
	for {
		e, err := c.Do(ctx, c.B().Scan().Cursor(cursor).Match(prefix+"*").Count(1000).Build()).AsScanEntry()
		require.NoError(t, err)
		for _, k := range e.Elements {
			n, err := c.Do(ctx, c.B().MemoryUsage().Key(k).Samples(0).Build()).AsInt64()
			if rueidis.IsRedisNil(err) { // expired since the scan
				continue
			}
			require.NoError(t, err)
			keys++
			bytes += n
		}
		if cursor = e.Cursor; cursor == 0 {
			return keys, bytes
		}
	}
}

// BytesPer is what each of n writes adds to the memory of the Redis behind
// c, by INFO's used_memory before and after: the records, their keys and
// Redis's own structures for them (dict entries, expiry entries), as a
// deployment pays for them. Measure on a Redis nothing else writes to
// (StartRedis). The first warmUp writes are not counted: they load scripts
// and grow connection buffers, which later writes reuse.
func BytesPer(t testing.TB, c rueidis.Client, n int, write func(i int)) float64 {
	t.Helper()
	const warmUp = 100
	for i := range warmUp {
		write(i)
	}
	before := usedMemory(t, c)
	for i := range n {
		write(warmUp + i)
	}
	time.Sleep(300 * time.Millisecond) // let Redis finish growing its tables (activerehashing)
	return float64(usedMemory(t, c)-before) / float64(n)
}

func usedMemory(t testing.TB, c rueidis.Client) int64 {
	t.Helper()
	info, err := c.Do(context.Background(), c.B().Info().Section("memory").Build()).ToString()
	require.NoError(t, err)
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			require.NoError(t, err)
			return n
		}
	}
	t.Fatal("INFO memory has no used_memory")
	return 0
}
