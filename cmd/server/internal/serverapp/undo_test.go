package serverapp_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/adapters/membroker"
	"github.com/1000x-rps-server/rps-server/tests/infra"
)

// stallingBroker is the in-process broker, but when armed its Ready (the
// last thing a request asks before it acquires its slot) stalls Redis for
// stall, so that the acquire that follows is abandoned at the command
// timeout and undone in the background once Redis resumes.
type stallingBroker struct {
	*membroker.Broker
	redis *infra.ThrowawayRedis
	stall time.Duration
	armed atomic.Bool
}

func (b *stallingBroker) Ready(ctx context.Context) error {
	if b.armed.Swap(false) {
		b.redis.Pause()
		time.AfterFunc(b.stall, b.redis.Resume)
	}
	return b.Broker.Ready(ctx)
}

// A request whose acquire is abandoned in a Redis stall answers 503, and the
// gate undoes what that acquire took. A retry with the same Idempotency-Key
// must then get through, as a retry with a new key does: the undo concerns
// that one attempt, not the key's task.
func TestIdempotency_RetryAfterAnUndoneAcquireSucceeds(t *testing.T) {
	const commandTimeout, retries = 300 * time.Millisecond, 5
	r := infra.StartRedis(t)
	cfg := idemConfig(2*time.Second, time.Minute)
	onRedis(t, &cfg)
	cfg.Redis.URL, cfg.Redis.CommandTimeout = r.URL(), commandTimeout
	cfg.Gate.BlockSize = 1 // one Redis call per acquire: the slot is named in Redis
	w := newWorker(t)
	inner, err := membroker.New(w.proc, 100)
	require.NoError(t, err)
	t.Cleanup(inner.Close)
	// The stall outlasts the acquire's command timeout, not the store's
	// call after it (Abandon), which finds Redis back.
	broker := &stallingBroker{Broker: inner, redis: r, stall: commandTimeout * 3 / 2}
	srv := httptest.NewServer(newAPIOn(t, cfg, broker))
	t.Cleanup(srv.Close)
	raw := infra.RedisClient(t, r.URL())

	key := uuid.NewString()
	broker.armed.Store(true)
	first := post(t, srv.URL, key)
	require.Equal(t, http.StatusServiceUnavailable, first.status, "the acquire was abandoned in the stall")
	require.Eventually(t, func() bool { return infra.ZCard(t, raw, cfg.Gate.Key+":undone") > 0 },
		3*time.Second, 10*time.Millisecond, "the abandoned acquire is undone once Redis resumes")
	require.Eventually(t, func() bool { return infra.ZCard(t, raw, cfg.Gate.Key) == 0 },
		time.Second, 10*time.Millisecond, "and holds no slot")

	succeeded := 0
	var statuses []int
	for range retries {
		a := postUntilAnswered(t, srv.URL, key) // a client honouring Retry-After, briskly
		statuses = append(statuses, a.status)
		if a.status == http.StatusOK {
			succeeded++
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("retries with the same key that succeeded after the undo: %d of %d (statuses %v)", succeeded, retries, statuses)
	assert.Equal(t, retries, succeeded, "every retry with the key gets its code")
	assert.Equal(t, 200, post(t, srv.URL, uuid.NewString()).status, "a new key gets through too")
}
