package redisledger_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/1000x-rps-server/rps-server/adapters/redisledger"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/ports"
	"github.com/1000x-rps-server/rps-server/tests/contract"
	"github.com/1000x-rps-server/rps-server/tests/infra"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newLedger(t *testing.T, url string, ttl time.Duration) *redisledger.Ledger {
	t.Helper()
	l, err := redisledger.New(redisledger.Config{
		URL: url, Prefix: "test:" + uuid.NewString()[:8] + ":", TTL: ttl,
		DialTimeout: time.Second, CommandTimeout: time.Second,
	})
	require.NoError(t, err)
	t.Cleanup(l.Close)
	return l
}

func TestContract(t *testing.T) {
	url := infra.RedisURL(t)
	contract.TestLedger(t, func(t *testing.T, ttl time.Duration) ports.IssuanceLedger {
		return newLedger(t, url, ttl)
	})
}

func TestRedisGone_Unavailable(t *testing.T) {
	l := newLedger(t, infra.RedisURL(t), time.Minute)
	require.NoError(t, l.Ready(context.Background()))
	l.Close() // as good as a dead Redis for this client
	_, err := l.Record(context.Background(), "t", "v")
	require.ErrorIs(t, err, domain.ErrUnavailable)
}
