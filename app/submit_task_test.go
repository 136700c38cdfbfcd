package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/mock/gomock"

	"github.com/1000x-rps-server/rps-server/app"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/ports"
	"github.com/1000x-rps-server/rps-server/ports/portmocks"
)

const (
	taskID = "task-1"
	// releaseTimeout is far from every other deadline in these tests, so the
	// release context's deadline shows which setting made it.
	releaseTimeout = time.Hour
)

func newSubmit(t *testing.T, gate ports.ConcurrencyGate, broker ports.TaskBroker) *app.SubmitTask {
	t.Helper()
	return newSubmitLogging(t, gate, broker, io.Discard)
}

// newSubmitLogging is newSubmit with its log lines, as JSON, written to w.
func newSubmitLogging(t *testing.T, gate ports.ConcurrencyGate, broker ports.TaskBroker, w io.Writer) *app.SubmitTask {
	t.Helper()
	s, err := app.NewSubmitTask(gate, broker, app.SubmitTaskConfig{
		Kinds:          []domain.Kind{domain.KindGiftCode},
		ReplyTimeout:   50 * time.Millisecond,
		ReleaseTimeout: releaseTimeout,
		NewID:          func() string { return taskID },
		Logger:         slog.New(slog.NewJSONHandler(w, nil)),
	})
	require.NoError(t, err)
	return s
}

// assertReleaseDeadline checks that ctx, the release's, is bounded by
// ReleaseTimeout alone: detached from the request's deadline and not unbounded.
func assertReleaseDeadline(ctx context.Context, t *testing.T) {
	t.Helper()
	deadline, ok := ctx.Deadline()
	if assert.True(t, ok, "the release must be bounded by ReleaseTimeout") {
		left := time.Until(deadline)
		assert.LessOrEqual(t, left, releaseTimeout)
		assert.Greater(t, left, releaseTimeout/2, "the deadline is ReleaseTimeout's, not the request's")
	}
}

func TestSubmitTask_ReleasesSlotOnEveryPath(t *testing.T) {
	slot := ports.Slot{ID: taskID}
	want := domain.Result{TaskID: taskID, Value: "GIFT-X"}
	tests := []struct {
		name    string
		request func(ctx context.Context, task domain.Task) (domain.Result, error)
		cancel  bool // cancel the caller's context before the reply
		wantErr error
		wantMsg string // for errors with no sentinel, such as a recovered panic
		wantRes domain.Result
	}{
		{
			name:    "success",
			request: func(context.Context, domain.Task) (domain.Result, error) { return want, nil },
			wantRes: want,
		},
		{
			name: "broker_unavailable",
			request: func(context.Context, domain.Task) (domain.Result, error) {
				return domain.Result{}, domain.ErrUnavailable
			},
			wantErr: domain.ErrUnavailable,
		},
		{
			name: "worker_failed",
			request: func(context.Context, domain.Task) (domain.Result, error) {
				return domain.Result{TaskID: taskID, Error: "boom"}, nil
			},
			wantErr: domain.ErrTaskFailed,
			wantRes: domain.Result{TaskID: taskID, Error: "boom"},
		},
		{
			name: "reply_timeout",
			request: func(ctx context.Context, _ domain.Task) (domain.Result, error) {
				<-ctx.Done() // a broker that honours the deadline but reports it raw
				return domain.Result{}, ctx.Err()
			},
			wantErr: domain.ErrTimedOut,
		},
		{
			name: "caller_cancelled",
			request: func(ctx context.Context, _ domain.Task) (domain.Result, error) {
				<-ctx.Done()
				return domain.Result{}, ctx.Err()
			},
			cancel:  true,
			wantErr: context.Canceled,
		},
		{
			name: "broker_panics",
			request: func(context.Context, domain.Task) (domain.Result, error) {
				panic("broker bug")
			},
			wantMsg: "panic: broker bug",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctrl := gomock.NewController(t)
			gate := portmocks.NewMockConcurrencyGate(ctrl)
			broker := portmocks.NewMockTaskBroker(ctrl)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()

			// The slot is held for the whole request: released after the
			// broker answered, never before it was asked.
			gomock.InOrder(
				broker.EXPECT().Ready(gomock.Any()).Return(nil),
				gate.EXPECT().Acquire(gomock.Any(), taskID, gomock.Any()).Return(slot, nil),
				broker.EXPECT().Request(gomock.Any(), domain.Task{ID: taskID, Kind: domain.KindGiftCode, RequestID: "req-1"}).
					DoAndReturn(func(ctx context.Context, task domain.Task) (domain.Result, error) {
						if tt.cancel {
							cancel()
						}
						return tt.request(ctx, task)
					}),
				gate.EXPECT().Release(gomock.Any(), slot).DoAndReturn(func(ctx context.Context, _ ports.Slot) error {
					assert.NoError(t, ctx.Err(), "release must run on a live context")
					assertReleaseDeadline(ctx, t)
					return nil
				}),
			)

			var logs bytes.Buffer
			res, err := newSubmitLogging(t, gate, broker, &logs).Submit(ctx, domain.Client{}, domain.KindGiftCode, "req-1")
			switch {
			case tt.wantMsg != "":
				require.ErrorContains(t, err, tt.wantMsg)
			case tt.wantErr != nil:
				require.ErrorIs(t, err, tt.wantErr)
			default:
				require.NoError(t, err)
			}
			assert.Equal(t, tt.wantRes, res)
			assert.Empty(t, logs.String(), "a slot released without trouble logs nothing")
		})
	}
}

func TestSubmitTask_RefusesBeforeAcquiring(t *testing.T) {
	tests := []struct {
		name    string
		kind    domain.Kind
		wantErr error
	}{
		{name: "malformed_kind", kind: "Not A Kind!", wantErr: domain.ErrInvalidTask},
		{name: "unknown_kind", kind: "make_coffee", wantErr: domain.ErrUnknownKind},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctrl := gomock.NewController(t) // no calls expected on either port
			s := newSubmit(t, portmocks.NewMockConcurrencyGate(ctrl), portmocks.NewMockTaskBroker(ctrl))
			_, err := s.Submit(context.Background(), domain.Client{}, tt.kind, "req-1")
			require.ErrorIs(t, err, tt.wantErr)
			_, err = s.Run(context.Background(), domain.Client{}, domain.Task{ID: "chosen", Kind: tt.kind, RequestID: "req-1"})
			require.ErrorIs(t, err, tt.wantErr, "Run refuses as Submit does")
		})
	}
}

// Run sends the task under the id it carries, but takes its slot under an
// id of the attempt's own (a fresh one), never the task's.
func TestSubmitTask_RunKeepsTheTasksID(t *testing.T) {
	ctrl := gomock.NewController(t)
	gate := portmocks.NewMockConcurrencyGate(ctrl)
	broker := portmocks.NewMockTaskBroker(ctrl)
	task := domain.Task{ID: "chosen", Kind: domain.KindGiftCode, RequestID: "req-1"}
	broker.EXPECT().Ready(gomock.Any()).Return(nil)
	gate.EXPECT().Acquire(gomock.Any(), taskID, gomock.Any()).Return(ports.Slot{ID: taskID}, nil)
	broker.EXPECT().Request(gomock.Any(), task).Return(domain.Result{TaskID: "chosen", Value: "GIFT-X"}, nil)
	gate.EXPECT().Release(gomock.Any(), ports.Slot{ID: taskID})
	res, err := newSubmit(t, gate, broker).Run(context.Background(), domain.Client{}, task)
	require.NoError(t, err)
	assert.Equal(t, "GIFT-X", res.Value)
}

// Each attempt at one task acquires under an id of its own: the gate may
// have undone an earlier attempt's id (an acquire abandoned in a stall), and
// an undone id takes nothing.
func TestSubmitTask_EachRunOfATaskAcquiresAsANewAttempt(t *testing.T) {
	ctrl := gomock.NewController(t)
	gate := portmocks.NewMockConcurrencyGate(ctrl)
	broker := portmocks.NewMockTaskBroker(ctrl)
	var n int
	s, err := app.NewSubmitTask(gate, broker, app.SubmitTaskConfig{
		Kinds: []domain.Kind{domain.KindGiftCode}, ReplyTimeout: time.Second, ReleaseTimeout: time.Second,
		NewID:  func() string { n++; return fmt.Sprint("attempt-", n) },
		Logger: slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	task := domain.Task{ID: "the-keys-task", Kind: domain.KindGiftCode, RequestID: "req-1"}
	var ids []string
	broker.EXPECT().Ready(gomock.Any()).Return(nil).Times(2)
	gate.EXPECT().Acquire(gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, id string, _ domain.Client) (ports.Slot, error) {
		ids = append(ids, id)
		return ports.Slot{}, domain.ErrUnavailable // the first stalled; the second is refused too, for brevity
	}).Times(2)
	for range 2 {
		_, err := s.Run(context.Background(), domain.Client{}, task)
		require.ErrorIs(t, err, domain.ErrUnavailable)
	}
	assert.Equal(t, []string{"attempt-1", "attempt-2"}, ids, "one slot id per attempt, never the task's")
}

// A broker that cannot serve (no worker consumes, Kafka down) is refused
// before the gate: no slot is taken and no task is sent.
func TestSubmitTask_BrokerNotReadyTakesNoSlot(t *testing.T) {
	for _, brokerErr := range []error{domain.ErrNoWorkers, domain.ErrUnavailable} {
		t.Run(brokerErr.Error(), func(t *testing.T) {
			ctrl := gomock.NewController(t)
			broker := portmocks.NewMockTaskBroker(ctrl)
			broker.EXPECT().Ready(gomock.Any()).Return(fmt.Errorf("requester: %w", brokerErr))
			s := newSubmit(t, portmocks.NewMockConcurrencyGate(ctrl), broker) // no Acquire, no Request
			_, err := s.Submit(context.Background(), domain.Client{}, domain.KindGiftCode, "req-1")
			require.ErrorIs(t, err, brokerErr)
			require.ErrorIs(t, err, domain.ErrUnavailable, "answered as 503")
		})
	}
}

func TestSubmitTask_GateErrorsPassThroughWithoutBroker(t *testing.T) {
	for _, gateErr := range []error{domain.ErrAtCapacity, domain.ErrUnavailable} {
		t.Run(gateErr.Error(), func(t *testing.T) {
			ctrl := gomock.NewController(t)
			gate := portmocks.NewMockConcurrencyGate(ctrl)
			gate.EXPECT().Acquire(gomock.Any(), taskID, gomock.Any()).Return(ports.Slot{}, gateErr)
			broker := portmocks.NewMockTaskBroker(ctrl)
			broker.EXPECT().Ready(gomock.Any()).Return(nil) // no Request expected
			s := newSubmit(t, gate, broker)
			_, err := s.Submit(context.Background(), domain.Client{}, domain.KindGiftCode, "req-1")
			require.ErrorIs(t, err, gateErr)
		})
	}
}

// A failed release does not fail a request that got its result, but it is
// logged once at warn: nobody else can report it, and the slot stays taken
// until its lease runs out.
func TestSubmitTask_FailedReleaseIsAWarningNotAFailure(t *testing.T) {
	ctrl := gomock.NewController(t)
	gate := portmocks.NewMockConcurrencyGate(ctrl)
	broker := portmocks.NewMockTaskBroker(ctrl)
	broker.EXPECT().Ready(gomock.Any()).Return(nil)
	gate.EXPECT().Acquire(gomock.Any(), taskID, gomock.Any()).Return(ports.Slot{ID: taskID}, nil)
	broker.EXPECT().Request(gomock.Any(), gomock.Any()).Return(domain.Result{TaskID: taskID, Value: "GIFT-X"}, nil)
	gate.EXPECT().Release(gomock.Any(), gomock.Any()).Return(fmt.Errorf("redis gate: %w", domain.ErrUnavailable))

	var logs bytes.Buffer
	res, err := newSubmitLogging(t, gate, broker, &logs).Submit(context.Background(), domain.Client{}, domain.KindGiftCode, "req-1")
	require.NoError(t, err)
	assert.Equal(t, "GIFT-X", res.Value)

	var line struct {
		Level string `json:"level"`
		Msg   string `json:"msg"`
		Slot  string `json:"slot"`
		Err   string `json:"err"`
	}
	require.NoError(t, json.Unmarshal(logs.Bytes(), &line), "one JSON line: %q", logs.String())
	assert.Equal(t, "WARN", line.Level)
	assert.Contains(t, line.Msg, "release slot failed")
	assert.Equal(t, taskID, line.Slot)
	assert.Equal(t, "redis gate: "+domain.ErrUnavailable.Error(), line.Err)
}

func TestSubmitTask_Ready(t *testing.T) {
	ctrl := gomock.NewController(t)
	gate := portmocks.NewMockConcurrencyGate(ctrl)
	broker := portmocks.NewMockTaskBroker(ctrl)
	s := newSubmit(t, gate, broker)

	gate.EXPECT().Ready(gomock.Any()).Return(nil)
	broker.EXPECT().Ready(gomock.Any()).Return(errors.New("no reply consumer yet"))
	require.ErrorContains(t, s.Ready(context.Background()), "broker: no reply consumer yet")

	gate.EXPECT().Ready(gomock.Any()).Return(domain.ErrUnavailable)
	require.ErrorIs(t, s.Ready(context.Background()), domain.ErrUnavailable)
}

func TestNewSubmitTask_RefusesMissingDependencies(t *testing.T) {
	ctrl := gomock.NewController(t)
	gate := portmocks.NewMockConcurrencyGate(ctrl)
	broker := portmocks.NewMockTaskBroker(ctrl)
	valid := app.SubmitTaskConfig{
		Kinds: []domain.Kind{domain.KindGiftCode}, ReplyTimeout: time.Second, ReleaseTimeout: time.Second,
		NewID: func() string { return "x" }, Logger: slog.Default(),
	}
	_, err := app.NewSubmitTask(nil, broker, valid)
	require.ErrorContains(t, err, "nil gate")
	_, err = app.NewSubmitTask(gate, nil, valid)
	require.ErrorContains(t, err, "nil broker")
	noTimeout := valid
	noTimeout.ReplyTimeout = 0
	_, err = app.NewSubmitTask(gate, broker, noTimeout)
	require.ErrorContains(t, err, "reply timeout")
}
