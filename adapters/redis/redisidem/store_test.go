package redisidem_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/1000x-rps-server/rps-server/adapters/redis/redisidem"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/ports"
	"github.com/1000x-rps-server/rps-server/tests/contract"
	"github.com/1000x-rps-server/rps-server/tests/infra"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newStore(t *testing.T, url string, ttl time.Duration) *redisidem.Store {
	t.Helper()
	s, err := redisidem.New(redisidem.Config{
		URL: url, Prefix: "test:" + uuid.NewString()[:8] + ":", TTL: ttl,
		DialTimeout: time.Second, CommandTimeout: time.Second,
	})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s
}

func TestContract(t *testing.T) {
	url := infra.RedisURL(t)
	contract.TestIdempotencyStore(t, func(t *testing.T, ttl time.Duration) ports.IdempotencyStore {
		return newStore(t, url, ttl)
	})
}

func TestRedisGone_Unavailable(t *testing.T) {
	s := newStore(t, infra.RedisURL(t), time.Minute)
	require.NoError(t, s.Ready(context.Background()))
	s.Close() // as good as a dead Redis for this client
	_, err := s.Begin(context.Background(), "k", ports.Claim{Fingerprint: "f", TaskID: "t", Token: "x", Lease: time.Second})
	require.ErrorIs(t, err, domain.ErrUnavailable)
}
