package kafkabroker_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/1000x-rps-server/rps-server/ports"
	"github.com/1000x-rps-server/rps-server/tests/contract"
)

// The port's contract through the real broker: a requester and a worker
// running proc, on topics of their own. The other tests here are this
// adapter's own behaviour.
func TestContract(t *testing.T) {
	contract.TestBroker(t, func(t *testing.T, proc ports.TaskProcessor) (ports.TaskBroker, func()) {
		tp := newTopics(t)
		r, _ := newRequester(t, tp)
		startWorker(t, tp, proc)
		return r, func() {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			assert.NoError(t, r.Close(ctx))
		}
	})
}
