package httpapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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
	"github.com/1000x-rps-server/rps-server/adapters/httpapi/httpapimocks"
	"github.com/1000x-rps-server/rps-server/adapters/httpapi/problem"
	"github.com/1000x-rps-server/rps-server/observability"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	requestTimeout = 3 * time.Second
	bodyLimit      = 64
	// busyDetail is the original's 429 text, which old clients read.
	busyDetail = "Server busy, too many in-flight requests. Please try again later."
)

// newAPI builds an API around a strict mock: a call the test did not expect
// fails it. opts adjust the config before New sees it.
func newAPI(t *testing.T, opts ...func(*httpapi.Config)) (*httpapi.API, *httpapimocks.MockTaskSubmitter) {
	t.Helper()
	sub := httpapimocks.NewMockTaskSubmitter(gomock.NewController(t))
	reg := prometheus.NewRegistry()
	cfg := httpapi.Config{
		BodyLimit: bodyLimit, RequestTimeout: requestTimeout, RetryAfter: 2 * time.Second,
		Logger: slog.New(slog.DiscardHandler), Registerer: reg, Gatherer: reg,
	}
	for _, opt := range opts {
		opt(&cfg)
	}
	api, err := httpapi.New(sub, cfg)
	require.NoError(t, err)
	return api, sub
}

// req describes one request; zero fields mean GET, no body, no headers.
type req struct {
	method, path, contentType string
	body                      io.Reader
	requestID                 string
}

func (r req) do(api http.Handler) *httptest.ResponseRecorder {
	method := r.method
	if method == "" {
		method = http.MethodGet
	}
	hr := httptest.NewRequest(method, r.path, r.body)
	if r.contentType != "" {
		hr.Header.Set("Content-Type", r.contentType)
	}
	if r.requestID != "" {
		hr.Header.Set("X-Request-ID", r.requestID)
	}
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, hr)
	return rec
}

func get(api http.Handler, path string) *httptest.ResponseRecorder {
	return req{path: path}.do(api)
}

func postQueue(api http.Handler) *httptest.ResponseRecorder {
	return req{method: http.MethodPost, path: "/queue"}.do(api)
}

// chunked hides the body's length, as a chunked upload does (ContentLength -1).
func chunked(s string) io.Reader { return io.NopCloser(strings.NewReader(s)) }

type problemBody struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	Instance  string `json:"instance"`
	RequestID string `json:"request_id"`
}

// decodeProblem checks the RFC 9457 shape every error response shares.
func decodeProblem(t *testing.T, rec *httptest.ResponseRecorder, path string) problemBody {
	t.Helper()
	assert.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
	var p problemBody
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p), rec.Body.String())
	if rec.Code == http.StatusTooManyRequests { // the limit that refused
		assert.Contains(t, []string{"capacity", "fair-share", "client-ceiling", "rate"}, strings.TrimPrefix(p.Type, problem.TypeBase))
	} else {
		assert.Equal(t, "about:blank", p.Type)
	}
	assert.NotEmpty(t, p.Title)
	assert.NotEmpty(t, p.Detail)
	assert.Equal(t, rec.Code, p.Status)
	assert.Equal(t, path, p.Instance)
	assert.NotEmpty(t, p.RequestID)
	assert.Equal(t, rec.Header().Get("X-Request-ID"), p.RequestID)
	return p
}

// readiness is an instance whose own check returns own and whose one shared
// dependency, named dep, returns depErr.
func readiness(own error, dep string, depErr error) observability.Readiness {
	return observability.Readiness{
		Own:          func(context.Context) error { return own },
		Dependencies: []observability.Dependency{{Name: dep, Check: func(context.Context) error { return depErr }}},
	}
}

// sha is the hex SHA-256 of an API key, as fair.keys names it.
func sha(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}
