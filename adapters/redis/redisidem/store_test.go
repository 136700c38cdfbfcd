package redisidem_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/rueidis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/1000x-rps-server/rps-server/adapters/redis/redisidem"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/ports"
	"github.com/1000x-rps-server/rps-server/tests/contract"
	"github.com/1000x-rps-server/rps-server/tests/infra"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newStore(t *testing.T, client rueidis.Client, ttl time.Duration) *redisidem.Store {
	t.Helper()
	s, err := redisidem.New(client, redisidem.Config{
		Prefix: "test:" + uuid.NewString()[:8] + ":", TTL: ttl, CommandTimeout: time.Second,
	})
	require.NoError(t, err)
	return s
}

func TestContract(t *testing.T) {
	client := infra.AdapterClient(t, infra.RedisURL(t))
	contract.TestIdempotencyStore(t, func(t *testing.T, ttl time.Duration) ports.IdempotencyStore {
		return newStore(t, client, ttl)
	})
}

func TestNewRefusesBadConfig(t *testing.T) {
	_, err := redisidem.New(nil, redisidem.Config{TTL: time.Minute, CommandTimeout: time.Second})
	require.EqualError(t, err, "redisidem: client must be set")
	client := infra.AdapterClient(t, infra.RedisURL(t))
	_, err = redisidem.New(client, redisidem.Config{TTL: time.Minute})
	require.EqualError(t, err, "redisidem: ttl and command timeout must be positive")
	_, err = redisidem.New(client, redisidem.Config{CommandTimeout: time.Second})
	require.EqualError(t, err, "redisidem: ttl and command timeout must be positive")
}

func TestRedisGone_Unavailable(t *testing.T) {
	client := infra.AdapterClient(t, infra.RedisURL(t))
	s := newStore(t, client, time.Minute)
	require.NoError(t, s.Ready(context.Background()))
	client.Close() // as good as a dead Redis for this store
	_, err := s.Begin(context.Background(), "k", ports.Claim{Fingerprint: "f", TaskID: "t", Token: "x", Lease: time.Second})
	require.ErrorIs(t, err, domain.ErrUnavailable)
}

// A full Redis under noeviction refuses writes rather than evicting keys:
// a new key is then unavailable (503), never silently forgotten later.
func TestRedisFull_Unavailable(t *testing.T) {
	r := infra.StartRedis(t, infra.WithArgs("--maxmemory-policy", "noeviction"))
	client := infra.AdapterClient(t, r.URL())
	ctx := context.Background()
	s := newStore(t, client, time.Minute)
	claim := ports.Claim{Fingerprint: "f", TaskID: "t", Token: "x", Lease: time.Second}
	_, err := s.Begin(ctx, "k1", claim)
	require.NoError(t, err)
	// Full: whatever it holds is above its (new) limit.
	require.NoError(t, client.Do(ctx, client.B().ConfigSet().ParameterValue().ParameterValue("maxmemory", "1").Build()).Error())
	_, err = s.Begin(ctx, "k2", claim)
	require.ErrorIs(t, err, domain.ErrUnavailable)
	assert.ErrorContains(t, err, "OOM")
}
