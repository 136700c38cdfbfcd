package httpapi_test

import (
	"bytes"
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
	"go.uber.org/mock/gomock"

	"github.com/1000x-rps-server/rps-server/adapters/httpapi"
	"github.com/1000x-rps-server/rps-server/adapters/httpapi/httpapimocks"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/observability"
)

func TestStaticRoutes(t *testing.T) {
	api, _ := newAPI(t) // neither route may touch the ports
	for path, want := range map[string]string{
		"/":        `{"Hello":"World"}`,
		"/healthz": `{"status":"ok"}`,
	} {
		rec := get(api, path)
		assert.Equal(t, http.StatusOK, rec.Code, path)
		assert.Equal(t, "application/json", rec.Header().Get("Content-Type"), path)
		assert.JSONEq(t, want, rec.Body.String(), path)
	}
}

// HEAD is how load balancers and `curl -I` probe; it must not be a 405.
func TestReadOnlyRoutesAnswerHead(t *testing.T) {
	api, _ := newAPI(t)
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	for path, contentType := range map[string]string{
		"/":        "application/json",
		"/healthz": "application/json",
		"/readyz":  "application/json",
		"/metrics": "text/plain",
	} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodHead, srv.URL+path, nil)
		require.NoError(t, err)
		res, err := srv.Client().Do(req)
		require.NoError(t, err, path)
		body, err := io.ReadAll(res.Body)
		require.NoError(t, errors.Join(err, res.Body.Close()))
		assert.Equal(t, http.StatusOK, res.StatusCode, path)
		assert.Contains(t, res.Header.Get("Content-Type"), contentType, path)
		assert.NotEmpty(t, res.Header.Get("X-Request-ID"), path)
		assert.Empty(t, body, path)
	}
	rec := req{method: http.MethodHead, path: "/queue"}.do(api)
	assert.Equal(t, http.StatusMethodNotAllowed, rec.Code, "HEAD /queue would have to run a task")
}

func TestNotFoundIsAProblem(t *testing.T) {
	api, _ := newAPI(t)
	rec := get(api, "/nope")
	assert.Equal(t, http.StatusNotFound, rec.Code)
	decodeProblem(t, rec, "/nope")
}

func TestRequestID(t *testing.T) {
	api, sub := newAPI(t)
	sub.EXPECT().Submit(gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any()).Return(domain.Result{}, domain.ErrAtCapacity).AnyTimes()

	sane := "client-id_1.2:3"
	rec := req{method: http.MethodPost, path: "/queue", requestID: sane}.do(api)
	assert.Equal(t, sane, rec.Header().Get("X-Request-ID"), "a sane id is echoed, on a 429 too")
	assert.Equal(t, sane, decodeProblem(t, rec, "/queue").RequestID)

	for name, insane := range map[string]string{
		"absent":    "",
		"too_long":  strings.Repeat("a", 129),
		"bad_chars": "id with spaces",
		"non_ascii": "idé",
	} {
		t.Run(name, func(t *testing.T) {
			rec := req{method: http.MethodPost, path: "/queue", requestID: insane}.do(api)
			got := rec.Header().Get("X-Request-ID")
			assert.Len(t, got, 36, "a generated UUID replaces %q", insane)
			assert.NotEqual(t, insane, got)
		})
	}
	assert.Equal(t, strings.Repeat("a", 128), req{path: "/x", requestID: strings.Repeat("a", 128)}.do(api).Header().Get("X-Request-ID"),
		"128 characters are still sane, and 404s carry the id")
}

func TestReadiness(t *testing.T) {
	down := errors.New("dial tcp 10.0.0.7:6379: connection refused")
	tests := []struct {
		name   string
		own    error
		redis  error
		drain  bool
		status int
		body   string // the 200's
		detail string // the 503's
	}{
		{name: "ready", status: http.StatusOK, body: `{"status":"ready","dependencies":{"redis":"up"}}`},
		// Redis is every instance's: they all stay in the pool, and each
		// request that needs Redis gets this instance's own 503.
		{name: "shared_dependency_down", redis: down, status: http.StatusOK, body: `{"status":"ready","dependencies":{"redis":"down"}}`},
		{name: "starting", own: fmt.Errorf("broker: requester: reply path not proven yet: %w", domain.ErrStarting), status: 503, detail: "not ready: starting"},
		{name: "own_port_down", own: errors.New("gate: dependency unavailable: dial tcp 10.0.0.7:6379: connection refused"), status: 503, detail: "not ready: gate unavailable"},
		{name: "unnamed_port", own: errors.New("Dial 10.0.0.7: refused"), status: 503, detail: "not ready: a dependency is unavailable"},
		{name: "draining", drain: true, status: 503, detail: "not ready: shutting down"},
		{name: "draining_in_a_shared_outage", drain: true, redis: down, status: 503, detail: "not ready: shutting down"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var deadline time.Time
			api, _ := newAPI(t, func(c *httpapi.Config) {
				c.Readiness = readiness(tt.own, "redis", tt.redis)
				c.Readiness.Own = func(ctx context.Context) error {
					deadline, _ = ctx.Deadline()
					return tt.own
				}
			})
			if tt.drain {
				api.Drain()
			}
			rec := get(api, "/readyz")
			assert.WithinDuration(t, time.Now().Add(2*time.Second), deadline, time.Second, "the probe is bounded")
			assert.Equal(t, tt.status, rec.Code)
			assert.Equal(t, tt.status == http.StatusOK, api.Readiness(context.Background()).Err == nil, "the metric's check agrees")
			if tt.status == http.StatusOK {
				assert.JSONEq(t, tt.body, rec.Body.String())
				return
			}
			assert.Equal(t, tt.detail, decodeProblem(t, rec, "/readyz").Detail, "a short reason, no addresses")
			assert.Equal(t, "2", rec.Header().Get("Retry-After"))
			assert.Equal(t, http.StatusOK, get(api, "/healthz").Code, "alive while not ready")
		})
	}
}

func TestMetrics(t *testing.T) {
	api, sub := newAPI(t)
	sub.EXPECT().Submit(gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any()).Return(domain.Result{}, domain.ErrAtCapacity)
	postQueue(api)
	get(api, "/random-scanner-path-1")
	get(api, "/random-scanner-path-2")
	req{method: "FOOBAR", path: "/"}.do(api)

	rec := get(api, "/metrics")
	assert.Equal(t, http.StatusOK, rec.Code)
	body := rec.Body.String()
	assert.Contains(t, body, `rps_http_requests_total{code="429",host="",method="POST",url="/queue"} 1`)
	assert.Contains(t, body, `rps_http_requests_total{code="404",host="",method="GET",url=""} 2`, "unmatched paths share one series")
	assert.NotContains(t, body, "random-scanner-path")
	assert.Contains(t, body, `method="OTHER"`)
	assert.NotContains(t, body, "FOOBAR", "invented methods do not become labels")
	assert.Contains(t, body, "rps_http_request_duration_seconds_bucket")
}

// With no Gatherer the API serves no /metrics: the server's admin listener
// does, and the public port serves the API only.
func TestMetrics_OffThePublicPort(t *testing.T) {
	api, _ := newAPI(t, func(c *httpapi.Config) { c.Gatherer = nil })
	rec := get(api, "/metrics")
	assert.Equal(t, http.StatusNotFound, rec.Code)
	assert.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
}

// TestMetrics_InFlight reads the in-flight gauge through /metrics while a
// POST /queue is inside the use case: that request and the scrape itself.
func TestMetrics_InFlight(t *testing.T) {
	api, sub := newAPI(t)
	var during string
	sub.EXPECT().Submit(gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(
		func(context.Context, domain.Client, domain.Kind, string) (domain.Result, error) {
			during = get(api, "/metrics").Body.String()
			return domain.Result{Value: "GIFT-1"}, nil
		})
	require.Equal(t, http.StatusOK, postQueue(api).Code)
	assert.Contains(t, during, "rps_http_requests_in_flight 2\n")
	assert.Contains(t, get(api, "/metrics").Body.String(), "rps_http_requests_in_flight 1\n", "only the scrape itself")
}

// TestLogLevels checks that only failures an operator must see are logged
// above debug, that a success logs nothing, and that lines carry the id.
func TestLogLevels(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		panic  bool
		level  string // "" means no line at all
		status int
	}{
		{name: "success"},
		{name: "invalid_task", err: fmt.Errorf("%w: bad kind", domain.ErrInvalidTask), level: "DEBUG", status: 400},
		{name: "unknown_kind", err: fmt.Errorf("%w: make_coffee", domain.ErrUnknownKind), level: "DEBUG", status: 422},
		{name: "at_capacity", err: domain.ErrAtCapacity, level: "DEBUG", status: 429},
		{name: "client_gone", err: context.Canceled, level: "DEBUG", status: 499},
		{name: "task_failed", err: fmt.Errorf("%w: disk full", domain.ErrTaskFailed), level: "WARN", status: 502},
		{name: "unavailable", err: domain.ErrUnavailable, level: "DEBUG", status: 503},
		{name: "timed_out", err: domain.ErrTimedOut, level: "DEBUG", status: 504},
		{name: "request_deadline", err: context.DeadlineExceeded, level: "DEBUG", status: 504},
		{name: "unexpected", err: errors.New("boom"), level: "ERROR", status: 500},
		{name: "panic", panic: true, level: "ERROR", status: 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			log, err := observability.NewLogger(&buf, observability.LogConfig{Level: "debug", Format: "json"})
			require.NoError(t, err)
			api, sub := newAPI(t, func(c *httpapi.Config) { c.Logger = log })
			sub.EXPECT().Submit(gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(
				func(context.Context, domain.Client, domain.Kind, string) (domain.Result, error) {
					if tt.panic {
						panic("bug")
					}
					return domain.Result{Value: "GIFT-1"}, tt.err
				})
			rec := req{method: http.MethodPost, path: "/queue", requestID: "rid-9"}.do(api)
			if tt.level == "" {
				assert.Empty(t, buf.String())
				return
			}
			assert.Equal(t, tt.status, rec.Code)
			var line struct {
				Level     string `json:"level"`
				Status    int    `json:"status"`
				RequestID string `json:"request_id"`
				Err       string `json:"err"`
			}
			require.NoError(t, json.Unmarshal(buf.Bytes(), &line), "one JSON line: %q", buf.String())
			assert.Equal(t, tt.level, line.Level)
			assert.Equal(t, tt.status, line.Status)
			assert.Equal(t, "rid-9", line.RequestID)
			if tt.panic {
				assert.Contains(t, line.Err, "handler panic: bug", "the panic is logged once, with its stack")
				assert.Contains(t, line.Err, "goroutine")
				return
			}
			assert.Equal(t, tt.err.Error(), line.Err, "the log keeps the real error")
		})
	}
}

func TestRetryAfterIsWholeSecondsAtLeastOne(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "1", 300 * time.Millisecond: "1", 1500 * time.Millisecond: "2", 5 * time.Second: "5"} {
		api, sub := newAPI(t, func(c *httpapi.Config) { c.RetryAfter = d })
		sub.EXPECT().Submit(gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any()).Return(domain.Result{}, domain.ErrAtCapacity)
		assert.Equal(t, want, postQueue(api).Header().Get("Retry-After"), d)
	}
}

func TestNew_RefusesMissingDependencies(t *testing.T) {
	sub := httpapimocks.NewMockTaskSubmitter(gomock.NewController(t))
	reg := prometheus.NewRegistry()
	valid := httpapi.Config{BodyLimit: 1, RequestTimeout: time.Second, Logger: slog.New(slog.DiscardHandler), Registerer: reg, Gatherer: reg}
	tests := map[string]func(*httpapi.Config){
		"nil_logger":     func(c *httpapi.Config) { c.Logger = nil },
		"nil_registerer": func(c *httpapi.Config) { c.Registerer = nil },
		"no_body_limit":  func(c *httpapi.Config) { c.BodyLimit = 0 },
		"no_timeout":     func(c *httpapi.Config) { c.RequestTimeout = 0 },
	}
	for name, breakIt := range tests {
		cfg := valid
		breakIt(&cfg)
		_, err := httpapi.New(sub, cfg)
		require.Error(t, err, name)
	}
	_, err := httpapi.New(nil, valid)
	require.ErrorContains(t, err, "nil submitter")

	_, err = httpapi.New(sub, valid)
	require.NoError(t, err)
	_, err = httpapi.New(sub, valid)
	require.ErrorContains(t, err, "metrics", "a second API on one registry is refused, not a panic")
}

// The public /readyz says which port is down; the log says why, once per
// change, not once per probe.
func TestReadiness_DetailInTheLogOncePerChange(t *testing.T) {
	var logs bytes.Buffer
	down := errors.New("broker: dependency unavailable: 127.0.0.1:9092/bootstrap: Connect to ipv4#127.0.0.1:9092 failed")
	probes := 0
	api, _ := newAPI(t, func(c *httpapi.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
		c.Readiness.Own = func(context.Context) error {
			probes++
			if probes <= 3 {
				return down
			}
			return nil
		}
	})
	for range 5 {
		get(api, "/readyz")
	}
	var msgs []string
	for line := range strings.Lines(logs.String()) {
		var rec struct{ Level, Msg, Reason, Err string }
		require.NoError(t, json.Unmarshal([]byte(line), &rec))
		msgs = append(msgs, rec.Level+" "+rec.Msg)
		if rec.Msg == "not ready" {
			assert.Equal(t, "broker unavailable", rec.Reason)
			assert.Contains(t, rec.Err, "127.0.0.1:9092", "the detail is in the log")
		}
	}
	assert.Equal(t, []string{"WARN not ready", "INFO ready"}, msgs)
}

// A client's input comes back capped: a 100 kB path is not echoed in full.
func TestProblem_CapsEchoedInput(t *testing.T) {
	api, _ := newAPI(t)
	long := "/" + strings.Repeat("é", 50_000)
	rec := get(api, long)
	assert.Equal(t, http.StatusNotFound, rec.Code)
	var p struct{ Instance string }
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p))
	assert.True(t, strings.HasPrefix(long, strings.TrimSuffix(p.Instance, "…")), "a prefix of the path")
	assert.LessOrEqual(t, len(p.Instance), 260)
	assert.Less(t, rec.Body.Len(), 1024, "the whole body stays small")
}

// While draining, answers ask the client to close its connection, so a
// keep-alive client reconnects elsewhere rather than reuse one about to close.
func TestDrain_AnswersCloseTheConnection(t *testing.T) {
	api, _ := newAPI(t)
	assert.Empty(t, get(api, "/").Header().Get("Connection"))
	api.Drain()
	rec := get(api, "/")
	assert.Equal(t, http.StatusOK, rec.Code, "still served")
	assert.Equal(t, "close", rec.Header().Get("Connection"))
}
