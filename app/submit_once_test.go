package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
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

const key = "key-1"

type onceMocks struct {
	gate   *portmocks.MockConcurrencyGate
	broker *portmocks.MockTaskBroker
	store  *portmocks.MockIdempotencyStore
	logs   *bytes.Buffer // SubmitOnce's own log lines, as JSON
}

func newSubmitOnce(t *testing.T) (*app.SubmitOnce, onceMocks) {
	t.Helper()
	ctrl := gomock.NewController(t)
	m := onceMocks{portmocks.NewMockConcurrencyGate(ctrl), portmocks.NewMockTaskBroker(ctrl), portmocks.NewMockIdempotencyStore(ctrl), &bytes.Buffer{}}
	// The broker's readiness is SubmitTask's concern, tested there.
	m.broker.EXPECT().Ready(gomock.Any()).Return(nil).AnyTimes()
	s, err := app.NewSubmitOnce(newSubmit(t, m.gate, m.broker), m.store, onceConfig(m.logs))
	require.NoError(t, err)
	return s, m
}

// onceConfig is a valid SubmitOnceConfig logging to w; its ids are once-1,
// once-2, … so a test can tell them from SubmitTask's (task-1).
func onceConfig(w io.Writer) app.SubmitOnceConfig {
	var n atomic.Int32
	return app.SubmitOnceConfig{
		RunTimeout: time.Minute, RunnerGrace: time.Second, StoreTimeout: time.Second,
		NewID:  func() string { return fmt.Sprintf("once-%d", n.Add(1)) },
		Logger: slog.New(slog.NewJSONHandler(w, nil)),
	}
}

// claimed is what Begin answers for a key first seen with another task id
// than the one this request would have made.
var claimed = ports.Entry{State: ports.Claimed, TaskID: "first-task", Token: "tok"}

func TestSubmitOnce_RunsAsTheKeysTaskAndStoresTheCode(t *testing.T) {
	s, m := newSubmitOnce(t)
	m.store.EXPECT().Begin(gomock.Any(), key, gomock.Any()).DoAndReturn(
		func(_ context.Context, _ string, c ports.Claim) (ports.Entry, error) {
			assert.Len(t, c.Fingerprint, 16, "a fixed-size digest of the request")
			assert.NotContains(t, c.Fingerprint, string(domain.KindGiftCode), "never the client's input")
			assert.Equal(t, onceConfig(io.Discard).Lease(), c.Lease)
			assert.ElementsMatch(t, []string{domain.KeyedTaskID("once-1"), "once-2"}, []string{c.TaskID, c.Token},
				"a fresh key's task id (marked as keyed, so workers keep its record as long as the key) and token come from SubmitOnce's own id generator")
			return claimed, nil
		})
	// The task is the key's; the slot is this attempt's (SubmitTask's id).
	m.gate.EXPECT().Acquire(gomock.Any(), taskID, gomock.Any()).Return(ports.Slot{ID: taskID}, nil)
	m.broker.EXPECT().Request(gomock.Any(), domain.Task{ID: "first-task", Kind: domain.KindGiftCode, RequestID: "req"}).
		Return(domain.Result{TaskID: "first-task", Value: "GIFT-1"}, nil)
	m.gate.EXPECT().Release(gomock.Any(), ports.Slot{ID: taskID})
	want := domain.Outcome{RequestID: "req", Kind: domain.KindGiftCode, Value: "GIFT-1"}
	m.store.EXPECT().Complete(gomock.Any(), key, claimed, want)

	got, err := s.SubmitOnce(context.Background(), domain.Client{}, key, domain.KindGiftCode, "req")
	require.NoError(t, err)
	assert.Equal(t, want, got)
}

func TestSubmitOnce_ReplaysWithoutSlotOrTask(t *testing.T) {
	s, m := newSubmitOnce(t) // the gate and broker mocks fail the test if called
	stored := domain.Outcome{RequestID: "first-req", Kind: domain.KindGiftCode, Value: "GIFT-1", Replayed: true}
	m.store.EXPECT().Begin(gomock.Any(), key, gomock.Any()).Return(ports.Entry{State: ports.Done, Outcome: stored}, nil)
	got, err := s.SubmitOnce(context.Background(), domain.Client{}, key, domain.KindGiftCode, "retry-req")
	require.NoError(t, err)
	assert.Equal(t, stored, got)
}

// A request refused before the gate is refused before the store is asked:
// a key nobody runs costs the store nothing, however large the request.
func TestSubmitOnce_RefusesABadOrUnknownKindBeforeTheStore(t *testing.T) {
	for name, tc := range map[string]struct {
		kind domain.Kind
		want error
	}{
		"unknown": {"no_such_kind", domain.ErrUnknownKind},
		"invalid": {domain.Kind(strings.Repeat("A", 4000)), domain.ErrInvalidTask},
	} {
		t.Run(name, func(t *testing.T) {
			s, _ := newSubmitOnce(t) // the store, gate and broker mocks fail the test if called
			_, err := s.SubmitOnce(context.Background(), domain.Client{}, key, tc.kind, "req")
			require.ErrorIs(t, err, tc.want)
		})
	}
}

func TestSubmitOnce_FingerprintsTheKind(t *testing.T) {
	ctrl := gomock.NewController(t)
	gate, broker, store := portmocks.NewMockConcurrencyGate(ctrl), portmocks.NewMockTaskBroker(ctrl), portmocks.NewMockIdempotencyStore(ctrl)
	submit, err := app.NewSubmitTask(gate, broker, app.SubmitTaskConfig{
		Kinds: []domain.Kind{domain.KindGiftCode, "other_kind"}, ReplyTimeout: time.Second, ReleaseTimeout: time.Second,
		NewID: func() string { return taskID }, Logger: slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	s, err := app.NewSubmitOnce(submit, store, onceConfig(io.Discard))
	require.NoError(t, err)
	var prints []string
	store.EXPECT().Begin(gomock.Any(), key, gomock.Any()).Times(3).DoAndReturn(
		func(_ context.Context, _ string, c ports.Claim) (ports.Entry, error) {
			prints = append(prints, c.Fingerprint)
			return ports.Entry{State: ports.Reused}, nil
		})
	for _, kind := range []domain.Kind{domain.KindGiftCode, domain.KindGiftCode, "other_kind"} {
		_, err := s.SubmitOnce(context.Background(), domain.Client{}, key, kind, "req")
		require.ErrorIs(t, err, domain.ErrKeyReused)
	}
	assert.Equal(t, prints[0], prints[1], "the same request, the same fingerprint")
	assert.NotEqual(t, prints[0], prints[2], "another kind, another fingerprint")
}

// A run whose task may have reached a worker is abandoned: its key keeps
// the task id, so a retry asks for the same task.
func TestSubmitOnce_AbandonsWhatIsNotFinal(t *testing.T) {
	for name, fail := range map[string]error{
		"timeout":     domain.ErrTimedOut,
		"unavailable": domain.ErrUnavailable,
		"task_failed": domain.ErrTaskFailed,
	} {
		t.Run(name, func(t *testing.T) {
			s, m := newSubmitOnce(t)
			m.store.EXPECT().Begin(gomock.Any(), key, gomock.Any()).Return(claimed, nil)
			if errors.Is(fail, domain.ErrAtCapacity) {
				m.gate.EXPECT().Acquire(gomock.Any(), taskID, gomock.Any()).Return(ports.Slot{}, fail)
			} else {
				m.gate.EXPECT().Acquire(gomock.Any(), taskID, gomock.Any()).Return(ports.Slot{ID: taskID}, nil)
				m.broker.EXPECT().Request(gomock.Any(), gomock.Any()).Return(domain.Result{}, fail)
				m.gate.EXPECT().Release(gomock.Any(), gomock.Any())
			}
			m.store.EXPECT().Abandon(gomock.Any(), key, claimed)
			_, err := s.SubmitOnce(context.Background(), domain.Client{}, key, domain.KindGiftCode, "req")
			require.ErrorIs(t, err, fail)
		})
	}
}

// A run that sent no task (a full gate, no worker) forgets its key: the
// refused request leaves nothing behind in the store.
func TestSubmitOnce_ForgetsWhatSentNothing(t *testing.T) {
	t.Run("at_capacity", func(t *testing.T) {
		s, m := newSubmitOnce(t)
		m.store.EXPECT().Begin(gomock.Any(), key, gomock.Any()).Return(claimed, nil)
		m.gate.EXPECT().Acquire(gomock.Any(), taskID, gomock.Any()).Return(ports.Slot{}, domain.ErrAtCapacity)
		m.store.EXPECT().Forget(gomock.Any(), key, claimed)
		_, err := s.SubmitOnce(context.Background(), domain.Client{}, key, domain.KindGiftCode, "req")
		require.ErrorIs(t, err, domain.ErrAtCapacity)
	})
	t.Run("no_workers", func(t *testing.T) {
		ctrl := gomock.NewController(t)
		broker, store := portmocks.NewMockTaskBroker(ctrl), portmocks.NewMockIdempotencyStore(ctrl)
		s, err := app.NewSubmitOnce(newSubmit(t, portmocks.NewMockConcurrencyGate(ctrl), broker), store, onceConfig(io.Discard))
		require.NoError(t, err)
		store.EXPECT().Begin(gomock.Any(), key, gomock.Any()).Return(claimed, nil)
		broker.EXPECT().Ready(gomock.Any()).Return(domain.ErrNoWorkers)
		store.EXPECT().Forget(gomock.Any(), key, claimed)
		_, err = s.SubmitOnce(context.Background(), domain.Client{}, key, domain.KindGiftCode, "req")
		require.ErrorIs(t, err, domain.ErrNoWorkers)
	})
}

// The key's lease outlives the run until its end is stored, even when every
// step takes as long as it may: the run its whole deadline, the slot
// release its timeout after it, the store call its own. A shorter lease
// would let a retry claim the key and run beside the first run.
func TestSubmitOnce_TheKeyIsHeldUntilTheRunEndsInTheStore(t *testing.T) {
	ctrl := gomock.NewController(t)
	gate, broker, store := portmocks.NewMockConcurrencyGate(ctrl), portmocks.NewMockTaskBroker(ctrl), portmocks.NewMockIdempotencyStore(ctrl)
	const step = 150 * time.Millisecond
	submit, err := app.NewSubmitTask(gate, broker, app.SubmitTaskConfig{
		Kinds: []domain.Kind{domain.KindGiftCode}, ReplyTimeout: time.Hour, ReleaseTimeout: step,
		NewID: func() string { return taskID }, Logger: slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	cfg := onceConfig(io.Discard)
	cfg.RunTimeout, cfg.RunnerGrace, cfg.StoreTimeout = step, step, step
	s, err := app.NewSubmitOnce(submit, store, cfg)
	require.NoError(t, err)

	untilDone := func(ctx context.Context) error { <-ctx.Done(); return fmt.Errorf("%w: hung", domain.ErrUnavailable) }
	var claimedAt time.Time
	var lease, held time.Duration
	store.EXPECT().Begin(gomock.Any(), key, gomock.Any()).DoAndReturn(
		func(_ context.Context, _ string, c ports.Claim) (ports.Entry, error) {
			claimedAt, lease = time.Now(), c.Lease
			return claimed, nil
		})
	broker.EXPECT().Ready(gomock.Any()).Return(nil)
	gate.EXPECT().Acquire(gomock.Any(), gomock.Any(), gomock.Any()).Return(ports.Slot{ID: "first-task"}, nil)
	broker.EXPECT().Request(gomock.Any(), gomock.Any()).DoAndReturn(
		func(ctx context.Context, _ domain.Task) (domain.Result, error) {
			return domain.Result{}, untilDone(ctx)
		})
	gate.EXPECT().Release(gomock.Any(), gomock.Any()).DoAndReturn(
		func(ctx context.Context, _ ports.Slot) error { return untilDone(ctx) })
	store.EXPECT().Abandon(gomock.Any(), key, claimed).DoAndReturn(
		func(ctx context.Context, _ string, _ ports.Entry) error {
			err := untilDone(ctx)
			held = time.Since(claimedAt)
			return err
		})
	_, err = s.SubmitOnce(context.Background(), domain.Client{}, key, domain.KindGiftCode, "req")
	require.Error(t, err)
	assert.GreaterOrEqual(t, held, 3*step, "every step took as long as it may")
	assert.Less(t, held, lease, "the run ended in the store within its lease")
	assert.Equal(t, cfg.Lease(), lease)
}

func TestSubmitOnce_RefusesWithoutRunning(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entry   ports.Entry
		err     error
		wantErr error
	}{
		{"in_flight", ports.Entry{State: ports.InFlight, TaskID: "first-task"}, nil, domain.ErrKeyInFlight},
		{"reused", ports.Entry{State: ports.Reused}, nil, domain.ErrKeyReused},
		{"store_down", ports.Entry{}, domain.ErrUnavailable, domain.ErrUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, m := newSubmitOnce(t)
			m.store.EXPECT().Begin(gomock.Any(), key, gomock.Any()).Return(tc.entry, tc.err)
			_, err := s.SubmitOnce(context.Background(), domain.Client{}, key, domain.KindGiftCode, "req")
			require.ErrorIs(t, err, tc.wantErr)
		})
	}
}

func TestSubmitOnce_RefusesABadKey(t *testing.T) {
	s, _ := newSubmitOnce(t)
	for _, k := range []string{"", "has space", string(make([]byte, 256)), "é"} {
		_, err := s.SubmitOnce(context.Background(), domain.Client{}, k, domain.KindGiftCode, "req")
		require.ErrorIs(t, err, domain.ErrInvalidTask, "%q", k)
	}
}

func TestSubmitOnce_StoreFailureAfterSuccessStillAnswers(t *testing.T) {
	s, m := newSubmitOnce(t)
	m.store.EXPECT().Begin(gomock.Any(), key, gomock.Any()).Return(claimed, nil)
	m.gate.EXPECT().Acquire(gomock.Any(), gomock.Any(), gomock.Any()).Return(ports.Slot{ID: "first-task"}, nil)
	m.broker.EXPECT().Request(gomock.Any(), gomock.Any()).Return(domain.Result{TaskID: "first-task", Value: "GIFT-1"}, nil)
	m.gate.EXPECT().Release(gomock.Any(), gomock.Any())
	m.store.EXPECT().Complete(gomock.Any(), key, claimed, gomock.Any()).Return(domain.ErrUnavailable)
	got, err := s.SubmitOnce(context.Background(), domain.Client{}, key, domain.KindGiftCode, "req")
	require.NoError(t, err)
	assert.Equal(t, "GIFT-1", got.Value)

	var line struct {
		Level, Msg, Err string
		KeyDigest       string `json:"key_digest"`
	}
	require.NoError(t, json.Unmarshal(m.logs.Bytes(), &line), "one JSON line: %q", m.logs.String())
	assert.Equal(t, "WARN", line.Level)
	assert.Contains(t, line.Msg, "a retry will run again")
	assert.Equal(t, domain.KeyDigest(key), line.KeyDigest, "the key's digest, which names its record")
	assert.NotContains(t, m.logs.String(), key, "never the key: it redeems the stored code")
	assert.Equal(t, domain.ErrUnavailable.Error(), line.Err)
}

// Without a key, SubmitOnce is the use case it decorates: Submit and Ready
// reach the ports as SubmitTask's do, and the store is never asked.
func TestSubmitOnce_PassesRequestsWithoutAKeyThrough(t *testing.T) {
	ctrl := gomock.NewController(t)
	gate, broker := portmocks.NewMockConcurrencyGate(ctrl), portmocks.NewMockTaskBroker(ctrl)
	s, err := app.NewSubmitOnce(newSubmit(t, gate, broker), portmocks.NewMockIdempotencyStore(ctrl), onceConfig(io.Discard))
	require.NoError(t, err)

	broker.EXPECT().Ready(gomock.Any()).Return(nil)
	gate.EXPECT().Acquire(gomock.Any(), taskID, gomock.Any()).Return(ports.Slot{ID: taskID}, nil)
	broker.EXPECT().Request(gomock.Any(), domain.Task{ID: taskID, Kind: domain.KindGiftCode, RequestID: "req"}).
		Return(domain.Result{TaskID: taskID, Value: "GIFT-1"}, nil)
	gate.EXPECT().Release(gomock.Any(), ports.Slot{ID: taskID})
	res, err := s.Submit(context.Background(), domain.Client{}, domain.KindGiftCode, "req")
	require.NoError(t, err)
	assert.Equal(t, "GIFT-1", res.Value)

	gate.EXPECT().Ready(gomock.Any()).Return(domain.ErrUnavailable)
	require.ErrorIs(t, s.Ready(context.Background()), domain.ErrUnavailable)
}

func TestNewSubmitOnce_RefusesMissingDependencies(t *testing.T) {
	ctrl := gomock.NewController(t)
	submit := newSubmit(t, portmocks.NewMockConcurrencyGate(ctrl), portmocks.NewMockTaskBroker(ctrl))
	store := portmocks.NewMockIdempotencyStore(ctrl)
	valid := onceConfig(io.Discard)
	_, err := app.NewSubmitOnce(nil, store, valid)
	require.ErrorContains(t, err, "nil task runner")
	_, err = app.NewSubmitOnce(submit, nil, valid)
	require.ErrorContains(t, err, "or store")
	for name, breakIt := range map[string]func(*app.SubmitOnceConfig){
		"run timeout":   func(c *app.SubmitOnceConfig) { c.RunTimeout = 0 },
		"runner grace":  func(c *app.SubmitOnceConfig) { c.RunnerGrace = -time.Second },
		"store timeout": func(c *app.SubmitOnceConfig) { c.StoreTimeout = 0 },
		"id generator":  func(c *app.SubmitOnceConfig) { c.NewID = nil },
		"logger":        func(c *app.SubmitOnceConfig) { c.Logger = nil },
	} {
		cfg := valid
		breakIt(&cfg)
		_, err := app.NewSubmitOnce(submit, store, cfg)
		require.ErrorContains(t, err, name)
	}
}
