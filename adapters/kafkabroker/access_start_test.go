package kafkabroker_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker"
	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/requester"
	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/taskworker"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/tests/infra"
)

// untrusted are client settings that trust another CA than the broker's.
func untrusted(t *testing.T) map[string]string {
	t.Helper()
	return map[string]string{"security.protocol": "SSL", "ssl.ca.location": infra.NewPKI(t).CAFile}
}

// A broker whose certificate the clients do not trust turns the requester
// away at start: it gives up at the first handshake, and says so through
// Failed and Ready, instead of retrying for ever behind a 503.
func TestRequester_GivesUpAtStartOnAnUntrustedCertificate(t *testing.T) {
	addr := infra.TLSListener(t, infra.NewPKI(t))
	r, err := requester.New(requester.Config{
		Bootstrap: addr, TasksTopic: "tasks", ResultsTopic: "results", ReplyTimeout: replyTimeout,
		Settings: untrusted(t), Logger: quiet, Registerer: prometheus.NewRegistry(),
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		assert.NoError(t, r.Close(ctx))
	})
	var failed error
	select {
	case failed = <-r.Failed():
	case <-time.After(10 * time.Second):
		t.Fatal("no failure 10 s after the start")
	}
	var access *kafkabroker.AccessError
	require.ErrorAs(t, failed, &access)
	assert.Contains(t, failed.Error(), "kafka TLS handshake failed: the broker's certificate could not be verified")
	err = r.Ready(context.Background())
	require.ErrorIs(t, err, domain.ErrStarting, "the instance never started")
	assert.ErrorAs(t, err, &access)
	_, err = r.Request(context.Background(), newTask())
	assert.ErrorAs(t, err, &access, "a request is refused with the reason")
}

// The worker's start fails the same way, at once, rather than after its
// admin call times out.
func TestNewWorker_FailsAtStartOnAnUntrustedCertificate(t *testing.T) {
	addr := infra.TLSListener(t, infra.NewPKI(t))
	start := time.Now()
	w, err := taskworker.New(context.Background(), taskworker.Config{
		Bootstrap: addr, TasksTopic: "tasks", Group: "workers", Concurrency: 1, DrainTimeout: time.Second,
		ReplyTimeout: replyTimeout, Settings: untrusted(t), Logger: quiet, Registerer: prometheus.NewRegistry(),
	}, giftProcessor(t))
	require.Error(t, err)
	assert.Nil(t, w)
	var access *kafkabroker.AccessError
	require.ErrorAs(t, err, &access)
	assert.Contains(t, err.Error(), "check kafka.settings ssl.ca.location")
	assert.Less(t, time.Since(start), 10*time.Second, "at the first handshake, not at the admin timeout (15 s)")
	assert.False(t, errors.Is(err, context.DeadlineExceeded))
}
