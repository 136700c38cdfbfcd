package contract

import (
	"context"
	"crypto/rand"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/app"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/ports"
)

// NewBroker makes a ready broker whose tasks run on proc, isolated from
// every other broker the suite makes; closeBroker closes it (the factory
// also closes it when the test ends, so a second close must be harmless).
type NewBroker func(t *testing.T, proc ports.TaskProcessor) (b ports.TaskBroker, closeBroker func())

// replyWithin bounds a reply that is expected (a real broker's round trip
// is milliseconds; the slack is for a loaded CI machine).
const replyWithin = 15 * time.Second

// TestBroker runs the TaskBroker contract against newBroker.
func TestBroker(t *testing.T, newBroker NewBroker) {
	t.Run("round_trip_returns_the_processors_result", func(t *testing.T) {
		b, _ := newBroker(t, echo())
		require.NoError(t, b.Ready(context.Background()))
		task := newTask()
		res, err := request(b, task, replyWithin)
		require.NoError(t, err)
		assert.Equal(t, domain.Result{TaskID: task.ID, Value: "echo " + task.RequestID}, res)
	})
	t.Run("handler_error_comes_back_as_an_error_result", func(t *testing.T) {
		b, _ := newBroker(t, processorFunc(func(_ context.Context, task domain.Task) domain.Result {
			return domain.Result{TaskID: task.ID, Error: "out of codes"}
		}))
		res, err := request(b, newTask(), replyWithin)
		require.NoError(t, err, "a handler's failure is a result, not a transport error")
		assert.Equal(t, "out of codes", res.Error)
		require.ErrorIs(t, res.Err(), domain.ErrTaskFailed)
	})
	t.Run("unknown_kind_comes_back_as_an_error_result", func(t *testing.T) {
		proc, err := app.NewProcessTask(app.DefaultHandlers(rand.Reader)...)
		require.NoError(t, err)
		b, _ := newBroker(t, proc)
		task := newTask()
		task.Kind = "no_such_kind"
		res, err := request(b, task, replyWithin)
		require.NoError(t, err, "the worker answers; it knows no handler")
		assert.Empty(t, res.Value)
		assert.Contains(t, res.Error, domain.ErrUnknownKind.Error())
		require.ErrorIs(t, res.Err(), domain.ErrTaskFailed)
	})
	t.Run("invalid_task_is_refused", func(t *testing.T) {
		b, _ := newBroker(t, echo())
		_, err := request(b, domain.Task{Kind: domain.KindGiftCode}, replyWithin)
		require.ErrorIs(t, err, domain.ErrInvalidTask, "no id")
		_, err = request(b, domain.Task{ID: uuid.NewString(), Kind: "Not A Kind"}, replyWithin)
		require.ErrorIs(t, err, domain.ErrInvalidTask, "bad kind")
	})
	t.Run("times_out_at_the_deadline", func(t *testing.T) {
		proc, release := stalled()
		b, _ := newBroker(t, proc)
		t.Cleanup(release) // after newBroker: runs before the broker closes
		start := time.Now()
		_, err := request(b, newTask(), 200*time.Millisecond)
		require.ErrorIs(t, err, domain.ErrTimedOut)
		require.ErrorIs(t, err, context.DeadlineExceeded, "the context's error is wrapped too")
		assert.Less(t, time.Since(start), 2*time.Second, "returns at the deadline, not at the reply")
	})
	t.Run("expired_deadline_is_a_timeout", func(t *testing.T) {
		b, _ := newBroker(t, echo())
		_, err := request(b, newTask(), 0)
		require.ErrorIs(t, err, domain.ErrTimedOut)
		require.ErrorIs(t, err, context.DeadlineExceeded)
	})
	t.Run("cancelled_request_returns_the_context_error", func(t *testing.T) {
		started := make(chan struct{}, 1)
		stall, release := stalled()
		b, _ := newBroker(t, processorFunc(func(ctx context.Context, task domain.Task) domain.Result {
			started <- struct{}{}
			return stall.Process(ctx, task)
		}))
		t.Cleanup(release)
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() {
			_, err := b.Request(ctx, newTask())
			errc <- err
		}()
		select {
		case <-started:
		case <-time.After(replyWithin):
			t.Fatal("the task never reached the processor")
		}
		cancel()
		err := <-errc
		require.ErrorIs(t, err, context.Canceled)
		require.NotErrorIs(t, err, domain.ErrTimedOut)
	})
	t.Run("concurrent_requests_each_get_their_own_reply", func(t *testing.T) {
		b, _ := newBroker(t, echo())
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				task := newTask()
				res, err := request(b, task, replyWithin)
				if assert.NoError(t, err) {
					assert.Equal(t, domain.Result{TaskID: task.ID, Value: "echo " + task.RequestID}, res)
				}
			})
		}
		wg.Wait()
	})
	t.Run("closed_broker_is_unavailable", func(t *testing.T) {
		b, closeBroker := newBroker(t, echo())
		_, err := request(b, newTask(), replyWithin)
		require.NoError(t, err)
		closeBroker()
		require.ErrorIs(t, b.Ready(context.Background()), domain.ErrUnavailable)
		start := time.Now()
		_, err = request(b, newTask(), replyWithin)
		require.ErrorIs(t, err, domain.ErrUnavailable)
		assert.Less(t, time.Since(start), time.Second, "refused at once, not at the deadline")
	})
}

// processorFunc adapts a function to ports.TaskProcessor.
type processorFunc func(ctx context.Context, task domain.Task) domain.Result

func (f processorFunc) Process(ctx context.Context, task domain.Task) domain.Result {
	return f(ctx, task)
}

// echo answers each task with its own request id, so a reply that reached
// the wrong request shows.
func echo() ports.TaskProcessor {
	return processorFunc(func(_ context.Context, task domain.Task) domain.Result {
		return domain.Result{TaskID: task.ID, Value: "echo " + task.RequestID}
	})
}

// stalled answers only once its ctx is done or release is called, so a
// broker that drains at close is not held up by it.
func stalled() (proc ports.TaskProcessor, release func()) {
	ch := make(chan struct{})
	return processorFunc(func(ctx context.Context, task domain.Task) domain.Result {
		select {
		case <-ch:
		case <-ctx.Done():
		}
		return domain.Result{TaskID: task.ID, Value: "late"}
	}), sync.OnceFunc(func() { close(ch) })
}

func newTask() domain.Task {
	return domain.Task{ID: uuid.NewString(), Kind: domain.KindGiftCode, RequestID: "req-" + uuid.NewString()[:8]}
}

func request(b ports.TaskBroker, task domain.Task, timeout time.Duration) (domain.Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return b.Request(ctx, task)
}
