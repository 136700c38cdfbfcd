package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
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
		Lease: time.Minute, StoreTimeout: time.Second,
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
			assert.Equal(t, string(domain.KindGiftCode), c.Fingerprint)
			assert.Equal(t, time.Minute, c.Lease)
			assert.ElementsMatch(t, []string{"once-1", "once-2"}, []string{c.TaskID, c.Token},
				"a fresh key's task id and token come from SubmitOnce's own id generator")
			return claimed, nil
		})
	// The task is the key's; the slot is this attempt's (SubmitTask's id).
	m.gate.EXPECT().Acquire(gomock.Any(), taskID).Return(ports.Slot{ID: taskID}, nil)
	m.broker.EXPECT().Request(gomock.Any(), domain.Task{ID: "first-task", Kind: domain.KindGiftCode, RequestID: "req"}).
		Return(domain.Result{TaskID: "first-task", Value: "GIFT-1"}, nil)
	m.gate.EXPECT().Release(gomock.Any(), ports.Slot{ID: taskID})
	want := domain.Outcome{RequestID: "req", Kind: domain.KindGiftCode, Value: "GIFT-1"}
	m.store.EXPECT().Complete(gomock.Any(), key, claimed, want)

	got, err := s.SubmitOnce(context.Background(), key, domain.KindGiftCode, "req")
	require.NoError(t, err)
	assert.Equal(t, want, got)
}

func TestSubmitOnce_ReplaysWithoutSlotOrTask(t *testing.T) {
	s, m := newSubmitOnce(t) // the gate and broker mocks fail the test if called
	stored := domain.Outcome{RequestID: "first-req", Kind: domain.KindGiftCode, Value: "GIFT-1", Replayed: true}
	m.store.EXPECT().Begin(gomock.Any(), key, gomock.Any()).Return(ports.Entry{State: ports.Done, Outcome: stored}, nil)
	got, err := s.SubmitOnce(context.Background(), key, domain.KindGiftCode, "retry-req")
	require.NoError(t, err)
	assert.Equal(t, stored, got)
}

func TestSubmitOnce_StoresAndReplaysARefusal(t *testing.T) {
	s, m := newSubmitOnce(t)
	m.store.EXPECT().Begin(gomock.Any(), key, gomock.Any()).Return(claimed, nil)
	var stored domain.Outcome
	m.store.EXPECT().Complete(gomock.Any(), key, claimed, gomock.Any()).DoAndReturn(
		func(_ context.Context, _ string, _ ports.Entry, o domain.Outcome) error { stored = o; return nil })
	_, err := s.SubmitOnce(context.Background(), key, "no_such_kind", "req")
	require.ErrorIs(t, err, domain.ErrUnknownKind)
	assert.Equal(t, domain.RefusalUnknownKind, stored.Refusal)

	stored.Replayed = true
	m.store.EXPECT().Begin(gomock.Any(), key, gomock.Any()).Return(ports.Entry{State: ports.Done, Outcome: stored}, nil)
	got, again := s.SubmitOnce(context.Background(), key, "no_such_kind", "retry")
	require.ErrorIs(t, again, domain.ErrUnknownKind)
	assert.Equal(t, err.Error(), again.Error(), "the same detail")
	assert.Equal(t, "req", got.RequestID)
	assert.True(t, got.Replayed)
}

func TestSubmitOnce_AbandonsWhatIsNotFinal(t *testing.T) {
	for name, fail := range map[string]error{
		"timeout":     domain.ErrTimedOut,
		"unavailable": domain.ErrUnavailable,
		"at_capacity": domain.ErrAtCapacity,
	} {
		t.Run(name, func(t *testing.T) {
			s, m := newSubmitOnce(t)
			m.store.EXPECT().Begin(gomock.Any(), key, gomock.Any()).Return(claimed, nil)
			if errors.Is(fail, domain.ErrAtCapacity) {
				m.gate.EXPECT().Acquire(gomock.Any(), taskID).Return(ports.Slot{}, fail)
			} else {
				m.gate.EXPECT().Acquire(gomock.Any(), taskID).Return(ports.Slot{ID: taskID}, nil)
				m.broker.EXPECT().Request(gomock.Any(), gomock.Any()).Return(domain.Result{}, fail)
				m.gate.EXPECT().Release(gomock.Any(), gomock.Any())
			}
			m.store.EXPECT().Abandon(gomock.Any(), key, claimed)
			_, err := s.SubmitOnce(context.Background(), key, domain.KindGiftCode, "req")
			require.ErrorIs(t, err, fail)
		})
	}
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
			_, err := s.SubmitOnce(context.Background(), key, domain.KindGiftCode, "req")
			require.ErrorIs(t, err, tc.wantErr)
		})
	}
}

func TestSubmitOnce_RefusesABadKey(t *testing.T) {
	s, _ := newSubmitOnce(t)
	for _, k := range []string{"", "has space", string(make([]byte, 256)), "é"} {
		_, err := s.SubmitOnce(context.Background(), k, domain.KindGiftCode, "req")
		require.ErrorIs(t, err, domain.ErrInvalidTask, "%q", k)
	}
}

func TestSubmitOnce_StoreFailureAfterSuccessStillAnswers(t *testing.T) {
	s, m := newSubmitOnce(t)
	m.store.EXPECT().Begin(gomock.Any(), key, gomock.Any()).Return(claimed, nil)
	m.gate.EXPECT().Acquire(gomock.Any(), gomock.Any()).Return(ports.Slot{ID: "first-task"}, nil)
	m.broker.EXPECT().Request(gomock.Any(), gomock.Any()).Return(domain.Result{TaskID: "first-task", Value: "GIFT-1"}, nil)
	m.gate.EXPECT().Release(gomock.Any(), gomock.Any())
	m.store.EXPECT().Complete(gomock.Any(), key, claimed, gomock.Any()).Return(domain.ErrUnavailable)
	got, err := s.SubmitOnce(context.Background(), key, domain.KindGiftCode, "req")
	require.NoError(t, err)
	assert.Equal(t, "GIFT-1", got.Value)

	var line struct {
		Level, Msg, Key, Err string
	}
	require.NoError(t, json.Unmarshal(m.logs.Bytes(), &line), "one JSON line: %q", m.logs.String())
	assert.Equal(t, "WARN", line.Level)
	assert.Contains(t, line.Msg, "a retry will run again")
	assert.Equal(t, key, line.Key)
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
	gate.EXPECT().Acquire(gomock.Any(), taskID).Return(ports.Slot{ID: taskID}, nil)
	broker.EXPECT().Request(gomock.Any(), domain.Task{ID: taskID, Kind: domain.KindGiftCode, RequestID: "req"}).
		Return(domain.Result{TaskID: taskID, Value: "GIFT-1"}, nil)
	gate.EXPECT().Release(gomock.Any(), ports.Slot{ID: taskID})
	res, err := s.Submit(context.Background(), domain.KindGiftCode, "req")
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
		"lease":         func(c *app.SubmitOnceConfig) { c.Lease = 0 },
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
