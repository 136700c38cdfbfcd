package app_test

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/app"
	"github.com/1000x-rps-server/rps-server/domain"
)

// funcHandler adapts a function to app.TaskHandler for tests.
type funcHandler struct {
	kind domain.Kind
	fn   func(context.Context, domain.Task) (string, error)
}

func (h funcHandler) Kind() domain.Kind { return h.kind }
func (h funcHandler) Handle(ctx context.Context, t domain.Task) (string, error) {
	return h.fn(ctx, t)
}

func TestProcessTask_Dispatch(t *testing.T) {
	echo := funcHandler{kind: "echo", fn: func(_ context.Context, t domain.Task) (string, error) { return "hi " + t.RequestID, nil }}
	failing := funcHandler{kind: "fail", fn: func(context.Context, domain.Task) (string, error) { return "", errors.New("disk full") }}
	panicking := funcHandler{kind: "panic", fn: func(context.Context, domain.Task) (string, error) { panic("bug") }}
	p, err := app.NewProcessTask(echo, failing, panicking)
	require.NoError(t, err)

	tests := []struct {
		kind      domain.Kind
		wantValue string
		wantError string
	}{
		{kind: "echo", wantValue: "hi r1"},
		{kind: "fail", wantError: "disk full"},
		{kind: "panic", wantError: `handler "panic" panicked: bug`},
		{kind: "nope", wantError: "unknown task kind"},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			res := p.Process(context.Background(), domain.Task{ID: "t1", Kind: tt.kind, RequestID: "r1"})
			assert.Equal(t, "t1", res.TaskID, "a result always names its task")
			assert.Equal(t, tt.wantValue, res.Value)
			if tt.wantError == "" {
				assert.Empty(t, res.Error)
				assert.NoError(t, res.Err())
				return
			}
			assert.Contains(t, res.Error, tt.wantError)
			assert.ErrorIs(t, res.Err(), domain.ErrTaskFailed)
		})
	}
	assert.Equal(t, []domain.Kind{"echo", "fail", "panic"}, p.Kinds())
}

func TestNewProcessTask_RefusesBadRegistrations(t *testing.T) {
	h := funcHandler{kind: "echo"}
	_, err := app.NewProcessTask(h, h)
	require.ErrorContains(t, err, "two handlers")
	_, err = app.NewProcessTask()
	require.ErrorContains(t, err, "no handlers")
	_, err = app.NewProcessTask(funcHandler{kind: "Bad Kind"})
	require.ErrorIs(t, err, domain.ErrInvalidTask)
}

func TestGiftCodeHandler_IssuesDistinctWellFormedCodes(t *testing.T) {
	p, err := app.NewProcessTask(app.DefaultHandlers(rand.Reader)...)
	require.NoError(t, err)
	seen := make(map[string]bool)
	for i := range 10_000 {
		res := p.Process(context.Background(), domain.Task{ID: "t", Kind: domain.KindGiftCode})
		require.Empty(t, res.Error)
		require.True(t, domain.IsGiftCode(res.Value), "malformed code %q", res.Value)
		require.False(t, seen[res.Value], "duplicate code after %d codes", i)
		seen[res.Value] = true
	}
}

func TestGiftCodeHandler_ReportsBrokenRandomness(t *testing.T) {
	h := app.NewGiftCodeHandler(strings.NewReader("short"))
	_, err := h.Handle(context.Background(), domain.Task{})
	require.ErrorContains(t, err, "read randomness")
}
