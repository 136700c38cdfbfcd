package app_test

import (
	"context"
	"errors"
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
}

func newSubmitOnce(t *testing.T) (*app.SubmitOnce, onceMocks) {
	t.Helper()
	ctrl := gomock.NewController(t)
	m := onceMocks{portmocks.NewMockConcurrencyGate(ctrl), portmocks.NewMockTaskBroker(ctrl), portmocks.NewMockIdempotencyStore(ctrl)}
	// The broker's readiness is SubmitTask's concern, tested there.
	m.broker.EXPECT().Ready(gomock.Any()).Return(nil).AnyTimes()
	s, err := app.NewSubmitOnce(newSubmit(t, m.gate, m.broker), m.store, app.SubmitOnceConfig{Lease: time.Minute, StoreTimeout: time.Second})
	require.NoError(t, err)
	return s, m
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
			return claimed, nil
		})
	m.gate.EXPECT().Acquire(gomock.Any(), "first-task").Return(ports.Slot{ID: "first-task"}, nil)
	m.broker.EXPECT().Request(gomock.Any(), domain.Task{ID: "first-task", Kind: domain.KindGiftCode, RequestID: "req"}).
		Return(domain.Result{TaskID: "first-task", Value: "GIFT-1"}, nil)
	m.gate.EXPECT().Release(gomock.Any(), ports.Slot{ID: "first-task"})
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
				m.gate.EXPECT().Acquire(gomock.Any(), "first-task").Return(ports.Slot{}, fail)
			} else {
				m.gate.EXPECT().Acquire(gomock.Any(), "first-task").Return(ports.Slot{ID: "first-task"}, nil)
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
}
