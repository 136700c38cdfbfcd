package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/mock/gomock"

	"github.com/1000x-rps-server/rps-server/adapters/httpapi"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/observability"
)

func TestQueue_Success(t *testing.T) {
	gift := `{"gift_code":"GIFT-1","request_id":"rid-1"}`
	kind := `{"action":"get_gift_code"}`
	atLimit := kind + strings.Repeat(" ", bodyLimit-len(kind)) // the limit is inclusive
	tests := []struct {
		name        string
		contentType string
		body        io.Reader
		kind        domain.Kind
		want        string
	}{
		{name: "no_body_is_a_gift_code", kind: domain.KindGiftCode, want: gift},
		{name: "empty_body_any_content_type", contentType: "text/plain", body: strings.NewReader(""), kind: domain.KindGiftCode, want: gift},
		{name: "empty_chunked_body", body: chunked(""), kind: domain.KindGiftCode, want: gift},
		{name: "empty_object", contentType: "application/json", body: strings.NewReader(`{}`), kind: domain.KindGiftCode, want: gift},
		{name: "explicit_gift_kind", contentType: "application/json; charset=utf-8", body: strings.NewReader(`{"action":"get_gift_code"}`), kind: domain.KindGiftCode, want: gift},
		{name: "chunked_json", contentType: "application/json", body: chunked(` {"action":"get_gift_code"} `), kind: domain.KindGiftCode, want: gift},
		{name: "other_kind", contentType: "application/json", body: strings.NewReader(`{"action":"make_coffee"}`), kind: "make_coffee", want: `{"result":"GIFT-1","request_id":"rid-1"}`},
		{name: "body_at_the_limit", contentType: "application/json", body: strings.NewReader(atLimit), kind: domain.KindGiftCode, want: gift},
		{name: "chunked_body_at_the_limit", contentType: "application/json", body: chunked(atLimit), kind: domain.KindGiftCode, want: gift},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api, sub := newAPI(t)
			sub.EXPECT().Submit(gomock.Any(), gomock.Any(), tt.kind, "rid-1").DoAndReturn(
				func(ctx context.Context, _ domain.Client, _ domain.Kind, _ string) (domain.Result, error) {
					deadline, ok := ctx.Deadline()
					assert.True(t, ok, "the request context carries a deadline")
					assert.WithinDuration(t, time.Now().Add(requestTimeout), deadline, time.Second)
					assert.Equal(t, "rid-1", observability.RequestID(ctx), "the context carries the request id")
					return domain.Result{TaskID: "t", Value: "GIFT-1"}, nil
				})
			rec := req{method: http.MethodPost, path: "/queue", contentType: tt.contentType, body: tt.body, requestID: "rid-1"}.do(api)
			assert.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			assert.JSONEq(t, tt.want, rec.Body.String())
			assert.Equal(t, "rid-1", rec.Header().Get("X-Request-ID"))
		})
	}
}

func TestQueue_ErrorsMapToProblems(t *testing.T) {
	const secret = "redis 10.0.0.7:6379 at 0xdeadbeef"
	tests := []struct {
		name       string
		err        error
		status     int
		detail     string // exact, or a substring when contains is set
		contains   bool
		retryAfter string
	}{
		{name: "at_capacity", err: fmt.Errorf("acquire slot: %w", domain.ErrAtCapacity), status: 429, detail: busyDetail, retryAfter: "2"},
		{name: "unavailable", err: fmt.Errorf("acquire slot: %w: %s", domain.ErrUnavailable, secret), status: 503, detail: "cannot be reached", contains: true, retryAfter: "2"},
		{name: "timed_out", err: fmt.Errorf("request task: %w", domain.ErrTimedOut), status: 504, detail: "No reply", contains: true},
		{name: "request_deadline", err: fmt.Errorf("request task: %w", context.DeadlineExceeded), status: 504, detail: "No reply", contains: true},
		{name: "task_failed", err: fmt.Errorf("%w: %s", domain.ErrTaskFailed, secret), status: 502, detail: "could not run", contains: true},
		{name: "invalid_task", err: fmt.Errorf("%w: kind must match", domain.ErrInvalidTask), status: 400, detail: "kind must match", contains: true},
		{name: "unknown_kind", err: fmt.Errorf("%w: %q", domain.ErrUnknownKind, "make_coffee"), status: 422, detail: "make_coffee", contains: true},
		{name: "client_gone", err: fmt.Errorf("request task: %w", context.Canceled), status: 499, detail: "closed", contains: true},
		{name: "client_gone_while_port_failed", err: fmt.Errorf("%w: %w", domain.ErrUnavailable, context.Canceled), status: 499, detail: "closed", contains: true},
		{name: "unexpected", err: errors.New(secret), status: 500, detail: "Internal server error."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api, sub := newAPI(t)
			sub.EXPECT().Submit(gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any()).Return(domain.Result{}, tt.err)
			rec := postQueue(api)
			assert.Equal(t, tt.status, rec.Code)
			p := decodeProblem(t, rec, "/queue")
			if tt.contains {
				assert.Contains(t, p.Detail, tt.detail)
			} else {
				assert.Equal(t, tt.detail, p.Detail)
			}
			assert.Equal(t, tt.retryAfter, rec.Header().Get("Retry-After"))
			assert.NotContains(t, rec.Body.String(), "0xdeadbeef", "internals never leak")
		})
	}
}

func TestQueue_RequestTimeoutIs504(t *testing.T) {
	api, sub := newAPI(t, func(c *httpapi.Config) { c.RequestTimeout = 20 * time.Millisecond })
	sub.EXPECT().Submit(gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(
		func(ctx context.Context, _ domain.Client, _ domain.Kind, _ string) (domain.Result, error) {
			<-ctx.Done() // a use case that honours the deadline and reports it raw
			return domain.Result{}, fmt.Errorf("request task: %w", context.Cause(ctx))
		})
	rec := postQueue(api)
	assert.Equal(t, http.StatusGatewayTimeout, rec.Code)
	decodeProblem(t, rec, "/queue")
}

func TestQueue_PanicIsAGeneric500(t *testing.T) {
	api, sub := newAPI(t)
	sub.EXPECT().Submit(gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(
		func(context.Context, domain.Client, domain.Kind, string) (domain.Result, error) {
			panic("secret bug at 0xdeadbeef")
		})
	rec := postQueue(api)
	assert.Equal(t, http.StatusInternalServerError, rec.Code)
	assert.Equal(t, "Internal server error.", decodeProblem(t, rec, "/queue").Detail)
	assert.NotContains(t, rec.Body.String(), "0xdeadbeef")
}

func TestQueue_ClientMistakesAre4xx(t *testing.T) {
	tooLong := `{"action":"` + strings.Repeat("a", bodyLimit) + `"}`
	tests := []struct {
		name        string
		method      string
		contentType string
		body        io.Reader
		status      int
		detail      string // substring
	}{
		{name: "malformed_json", contentType: "application/json", body: strings.NewReader(`{"action":`), status: 400, detail: "malformed JSON"},
		{name: "unknown_field", contentType: "application/json", body: strings.NewReader(`{"kind":"x"}`), status: 400, detail: `unknown field "kind"`},
		{name: "trailing_object", contentType: "application/json", body: strings.NewReader(`{} {}`), status: 400, detail: "data after"},
		{name: "trailing_bracket", contentType: "application/json", body: strings.NewReader(`{}]`), status: 400, detail: "data after"},
		{name: "wrong_type", contentType: "application/json", body: strings.NewReader(`{"action":5}`), status: 400, detail: "malformed JSON"},
		{name: "not_an_object", contentType: "application/json", body: strings.NewReader(`["get_gift_code"]`), status: 400, detail: "malformed JSON"},
		{name: "over_limit_by_length", contentType: "application/json", body: strings.NewReader(tooLong), status: 413},
		{name: "over_limit_chunked", contentType: "application/json", body: chunked(tooLong), status: 413},
		{name: "wrong_content_type", contentType: "text/plain", body: strings.NewReader(`hello`), status: 415},
		{name: "no_content_type", body: strings.NewReader(`{"action":"get_gift_code"}`), status: 415},
		{name: "bad_content_type", contentType: "application/json; =", body: strings.NewReader(`{}`), status: 415},
		{name: "wrong_method", method: http.MethodGet, status: 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api, _ := newAPI(t) // Submit is never called: the mock fails the test if it is
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			rec := req{method: method, path: "/queue", contentType: tt.contentType, body: tt.body}.do(api)
			assert.Equal(t, tt.status, rec.Code, rec.Body.String())
			p := decodeProblem(t, rec, "/queue")
			assert.Contains(t, p.Detail, tt.detail)
			if tt.status == http.StatusMethodNotAllowed {
				assert.Contains(t, rec.Header().Get("Allow"), http.MethodPost)
			}
		})
	}
}

// fastSubmitter answers at once, so the benchmark measures the adapter alone.
type fastSubmitter struct{}

func (fastSubmitter) Submit(context.Context, domain.Client, domain.Kind, string) (domain.Result, error) {
	return domain.Result{Value: "GIFT-0123456789ABCDEFGHJKMNPQ"}, nil
}
func (fastSubmitter) SubmitOnce(context.Context, domain.Client, string, domain.Kind, string) (domain.Outcome, error) {
	return domain.Outcome{Value: "GIFT-0123456789ABCDEFGHJKMNPQ"}, nil
}

// BenchmarkQueue measures the adapter's share of the hot path: POST /queue
// with no body, as the original's clients send it.
func BenchmarkQueue(b *testing.B) {
	benchQueue(b, fastSubmitter{}, httpapi.Clients{}, http.StatusOK)
}

// refusingSubmitter refuses every request as over its fair share, as the
// gate does under a flood.
type refusingSubmitter struct{}

func (refusingSubmitter) Submit(context.Context, domain.Client, domain.Kind, string) (domain.Result, error) {
	return domain.Result{}, &domain.Refusal{Limit: domain.LimitFairShare, Quota: domain.Quota{Limit: 9}}
}
func (refusingSubmitter) SubmitOnce(context.Context, domain.Client, string, domain.Kind, string) (domain.Outcome, error) {
	return domain.Outcome{}, &domain.Refusal{Limit: domain.LimitFairShare, Quota: domain.Quota{Limit: 9}}
}

// BenchmarkQueueRefused measures the adapter's share of a 429 under a
// flood: the client identified by its address, refused by the fair share.
func BenchmarkQueueRefused(b *testing.B) {
	benchQueue(b, refusingSubmitter{}, httpapi.Clients{By: httpapi.IdentityIP}, http.StatusTooManyRequests)
}

// benchQueue serves POST /queue with no body through an API on sub, each
// answer checked for want.
func benchQueue(b *testing.B, sub httpapi.TaskSubmitter, clients httpapi.Clients, want int) {
	b.Helper()
	reg := prometheus.NewRegistry()
	api, err := httpapi.New(sub, httpapi.Config{
		BodyLimit: 4096, RequestTimeout: time.Second, RetryAfter: time.Second,
		Logger: slog.New(slog.DiscardHandler), Registerer: reg, Gatherer: reg, Clients: clients,
	})
	require.NoError(b, err)
	hr := httptest.NewRequest(http.MethodPost, "/queue", nil)
	hr.Header.Set("X-Request-ID", "bench-1")
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, hr)
		if rec.Code != want {
			b.Fatal(rec.Code)
		}
	}
}
