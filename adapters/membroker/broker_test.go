package membroker_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/1000x-rps-server/rps-server/adapters/membroker"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/ports"
	"github.com/1000x-rps-server/rps-server/tests/contract"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var task = domain.Task{ID: "t1", Kind: domain.KindGiftCode, RequestID: "r1"}

func echoProcessor(delay time.Duration) membroker.ProcessorFunc {
	return func(ctx context.Context, t domain.Task) domain.Result {
		select {
		case <-time.After(delay):
			return domain.Result{TaskID: t.ID, Value: "done " + t.RequestID}
		case <-ctx.Done():
			return domain.Result{TaskID: t.ID, Error: ctx.Err().Error()}
		}
	}
}

// The port's contract; what follows is this adapter's own behaviour.
func TestContract(t *testing.T) {
	contract.TestBroker(t, func(t *testing.T, proc ports.TaskProcessor) (ports.TaskBroker, func()) {
		b, err := membroker.New(proc, 100)
		require.NoError(t, err)
		t.Cleanup(b.Close)
		return b, b.Close
	})
}

func TestRequest_BoundsConcurrency(t *testing.T) {
	var running, maxRunning atomic.Int32
	proc := membroker.ProcessorFunc(func(_ context.Context, t domain.Task) domain.Result {
		n := running.Add(1)
		for {
			m := maxRunning.Load()
			if n <= m || maxRunning.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
		running.Add(-1)
		return domain.Result{TaskID: t.ID, Value: "ok"}
	})
	b, err := membroker.New(proc, 3)
	require.NoError(t, err)
	defer b.Close()

	var wg sync.WaitGroup
	for range 30 {
		wg.Go(func() {
			_, err := b.Request(context.Background(), task)
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	assert.Equal(t, int32(3), maxRunning.Load())
}

func TestClose_WaitsForRunningTasks(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	var finished atomic.Bool
	b, err := membroker.New(membroker.ProcessorFunc(func(_ context.Context, t domain.Task) domain.Result {
		close(started)
		<-release
		finished.Store(true)
		return domain.Result{TaskID: t.ID, Value: "ok"}
	}), 2)
	require.NoError(t, err)

	got := make(chan error, 1)
	go func() { _, err := b.Request(context.Background(), task); got <- err }()
	<-started

	finishedAtClose := make(chan bool, 1)
	go func() { b.Close(); finishedAtClose <- finished.Load() }()
	// Close has begun once the broker refuses; only then may the task end.
	require.Eventually(t, func() bool { return b.Ready(context.Background()) != nil }, 5*time.Second, time.Millisecond)
	close(release)

	assert.True(t, <-finishedAtClose, "Close returned while a task was still running")
	require.NoError(t, <-got, "a task running at Close still gets its answer")
	// that it then refuses is in the contract (closed_broker_is_unavailable)
}

func TestNew_RefusesBadArguments(t *testing.T) {
	_, err := membroker.New(nil, 1)
	require.EqualError(t, err, "membroker: nil processor")
	_, err = membroker.New(echoProcessor(0), 0)
	require.EqualError(t, err, "membroker: concurrency must be at least 1 (got 0)")
}

// The smallest broker there is runs one task at a time.
func TestNew_ConcurrencyOne(t *testing.T) {
	b, err := membroker.New(echoProcessor(0), 1)
	require.NoError(t, err)
	defer b.Close()
	res, err := b.Request(context.Background(), task)
	require.NoError(t, err)
	assert.Equal(t, "done r1", res.Value)
}
