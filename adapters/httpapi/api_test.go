package httpapi_test

import (
	"context"
	"encoding/json"
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
	"go.uber.org/goleak"
	"go.uber.org/mock/gomock"

	"github.com/1000x-rps-server/rps-server/adapters/httpapi"
	"github.com/1000x-rps-server/rps-server/adapters/httpapi/mocks"
	"github.com/1000x-rps-server/rps-server/domain"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const requestTimeout = 3 * time.Second

func newAPI(t *testing.T) (*httpapi.API, *mocks.MockTaskSubmitter) {
	t.Helper()
	sub := mocks.NewMockTaskSubmitter(gomock.NewController(t))
	reg := prometheus.NewRegistry()
	api, err := httpapi.New(sub, httpapi.Config{
		BodyLimit: 64, RequestTimeout: requestTimeout, RetryAfter: 2 * time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Registerer: reg, Gatherer: reg,
	})
	require.NoError(t, err)
	return api, sub
}

func do(api http.Handler, method, path, contentType, body string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, req)
	return rec
}

type problemBody struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	Instance  string `json:"instance"`
	RequestID string `json:"request_id"`
}

func decodeProblem(t *testing.T, rec *httptest.ResponseRecorder) problemBody {
	t.Helper()
	assert.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
	var p problemBody
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p), rec.Body.String())
	assert.Equal(t, rec.Code, p.Status)
	assert.NotEmpty(t, p.Title)
	assert.Equal(t, rec.Header().Get("X-Request-ID"), p.RequestID)
	return p
}

func TestRoot(t *testing.T) {
	api, _ := newAPI(t)
	rec := do(api, http.MethodGet, "/", "", "")
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.JSONEq(t, `{"Hello":"World"}`, rec.Body.String())
}

func TestQueue_Success(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		kind        domain.Kind
		want        string
	}{
		{name: "no_body_is_a_gift_code", kind: domain.KindGiftCode, want: `{"gift_code":"GIFT-1","request_id":"rid-1"}`},
		{name: "empty_action", contentType: "application/json", body: `{}`, kind: domain.KindGiftCode, want: `{"gift_code":"GIFT-1","request_id":"rid-1"}`},
		{name: "explicit_gift_kind", contentType: "application/json; charset=utf-8", body: `{"action":"get_gift_code"}`, kind: domain.KindGiftCode, want: `{"gift_code":"GIFT-1","request_id":"rid-1"}`},
		{name: "other_kind", contentType: "application/json", body: `{"action":"make_coffee"}`, kind: "make_coffee", want: `{"result":"GIFT-1","request_id":"rid-1"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api, sub := newAPI(t)
			sub.EXPECT().Submit(gomock.Any(), tt.kind, "rid-1").DoAndReturn(
				func(ctx context.Context, _ domain.Kind, _ string) (domain.Result, error) {
					deadline, ok := ctx.Deadline()
					assert.True(t, ok, "the request context carries a deadline")
					assert.WithinDuration(t, time.Now().Add(requestTimeout), deadline, time.Second)
					return domain.Result{TaskID: "t", Value: "GIFT-1"}, nil
				})
			rec := do(api, http.MethodPost, "/queue", tt.contentType, tt.body, "X-Request-ID", "rid-1")
			assert.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			assert.JSONEq(t, tt.want, rec.Body.String())
			assert.Equal(t, "rid-1", rec.Header().Get("X-Request-ID"))
		})
	}
}

func TestQueue_ErrorsMapToProblems(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		status     int
		detail     string // substring
		retryAfter string
	}{
		{name: "at_capacity", err: fmt.Errorf("acquire slot: %w", domain.ErrAtCapacity), status: 429,
			detail: "Server busy, too many in-flight requests. Please try again later.", retryAfter: "2"},
		{name: "unavailable", err: fmt.Errorf("acquire slot: %w: dial tcp: refused", domain.ErrUnavailable), status: 503,
			detail: "cannot be reached", retryAfter: "2"},
		{name: "timed_out", err: domain.ErrTimedOut, status: 504, detail: "No reply"},
		{name: "task_failed", err: fmt.Errorf("%w: disk full", domain.ErrTaskFailed), status: 502, detail: "could not run"},
		{name: "unknown_kind", err: fmt.Errorf("%w: %q", domain.ErrUnknownKind, "make_coffee"), status: 422, detail: "make_coffee"},
		{name: "invalid_task", err: fmt.Errorf("%w: bad kind", domain.ErrInvalidTask), status: 400, detail: "bad kind"},
		{name: "client_gone", err: context.Canceled, status: 499},
		{name: "unexpected", err: errors.New("secret internal state at 0xdeadbeef"), status: 500, detail: "Internal server error."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api, sub := newAPI(t)
			sub.EXPECT().Submit(gomock.Any(), gomock.Any(), gomock.Any()).Return(domain.Result{}, tt.err)
			rec := do(api, http.MethodPost, "/queue", "", "")
			assert.Equal(t, tt.status, rec.Code)
			p := decodeProblem(t, rec)
			assert.Contains(t, p.Detail, tt.detail)
			assert.Equal(t, "/queue", p.Instance)
			assert.Equal(t, tt.retryAfter, rec.Header().Get("Retry-After"))
			assert.NotContains(t, rec.Body.String(), "0xdeadbeef", "internals never leak")
		})
	}
}

func TestQueue_ClientMistakesAre4xx(t *testing.T) {
	tests := []struct {
		name        string
		method      string
		contentType string
		body        string
		status      int
	}{
		{name: "malformed_json", contentType: "application/json", body: `{"action":`, status: 400},
		{name: "unknown_field", contentType: "application/json", body: `{"kind":"x"}`, status: 400},
		{name: "trailing_data", contentType: "application/json", body: `{} {}`, status: 400},
		{name: "wrong_type", contentType: "application/json", body: `{"action":5}`, status: 400},
		{name: "over_the_limit", contentType: "application/json", body: `{"action":"` + strings.Repeat("a", 100) + `"}`, status: 413},
		{name: "wrong_content_type", contentType: "text/plain", body: `hello`, status: 415},
		{name: "no_content_type", body: `{"action":"get_gift_code"}`, status: 415},
		{name: "wrong_method", method: http.MethodGet, status: 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api, _ := newAPI(t) // Submit is never called: the mock fails the test if it is
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			rec := do(api, method, "/queue", tt.contentType, tt.body)
			assert.Equal(t, tt.status, rec.Code, rec.Body.String())
			decodeProblem(t, rec)
		})
	}
}

func TestNotFoundIsAProblem(t *testing.T) {
	api, _ := newAPI(t)
	rec := do(api, http.MethodGet, "/nope", "", "")
	assert.Equal(t, http.StatusNotFound, rec.Code)
	decodeProblem(t, rec)
}

func TestRequestID(t *testing.T) {
	api, sub := newAPI(t)
	sub.EXPECT().Submit(gomock.Any(), gomock.Any(), gomock.Any()).Return(domain.Result{}, domain.ErrAtCapacity).AnyTimes()

	sane := "client-id_1.2:3"
	assert.Equal(t, sane, do(api, http.MethodPost, "/queue", "", "", "X-Request-ID", sane).Header().Get("X-Request-ID"))

	for name, insane := range map[string]string{
		"absent":    "",
		"too_long":  strings.Repeat("a", 129),
		"bad_chars": "id with spaces\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			rec := do(api, http.MethodPost, "/queue", "", "", "X-Request-ID", insane)
			got := rec.Header().Get("X-Request-ID")
			assert.Len(t, got, 36, "a generated UUID replaces %q", insane)
			assert.NotEqual(t, insane, got)
		})
	}
	rec := do(api, http.MethodGet, "/missing", "", "")
	assert.NotEmpty(t, rec.Header().Get("X-Request-ID"), "404s carry a request id too")
}

func TestHealthAndReadiness(t *testing.T) {
	api, sub := newAPI(t)
	rec := do(api, http.MethodGet, "/healthz", "", "")
	assert.Equal(t, http.StatusOK, rec.Code)

	sub.EXPECT().Ready(gomock.Any()).Return(nil)
	assert.Equal(t, http.StatusOK, do(api, http.MethodGet, "/readyz", "", "").Code)

	sub.EXPECT().Ready(gomock.Any()).Return(errors.New("gate: redis: connection refused"))
	rec = do(api, http.MethodGet, "/readyz", "", "")
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Contains(t, decodeProblem(t, rec).Detail, "connection refused")
	assert.Equal(t, "2", rec.Header().Get("Retry-After"))

	api.Drain() // Ready is not asked any more
	rec = do(api, http.MethodGet, "/readyz", "", "")
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Contains(t, decodeProblem(t, rec).Detail, "shutting down")
	assert.Equal(t, http.StatusOK, do(api, http.MethodGet, "/healthz", "", "").Code, "alive while draining")
}

func TestMetrics(t *testing.T) {
	api, sub := newAPI(t)
	sub.EXPECT().Submit(gomock.Any(), gomock.Any(), gomock.Any()).Return(domain.Result{}, domain.ErrAtCapacity)
	do(api, http.MethodPost, "/queue", "", "")
	do(api, http.MethodGet, "/random-scanner-path-1", "", "")

	rec := do(api, http.MethodGet, "/metrics", "", "")
	assert.Equal(t, http.StatusOK, rec.Code)
	body := rec.Body.String()
	assert.Contains(t, body, `rps_http_requests_total{code="429",host="",method="POST",url="/queue"} 1`)
	assert.NotContains(t, body, "random-scanner-path-1", "unmatched paths do not become labels")
}

func TestNew_RefusesMissingDependencies(t *testing.T) {
	_, err := httpapi.New(nil, httpapi.Config{})
	require.Error(t, err)
	sub := mocks.NewMockTaskSubmitter(gomock.NewController(t))
	_, err = httpapi.New(sub, httpapi.Config{BodyLimit: 1, RequestTimeout: time.Second})
	require.Error(t, err)
}
