// Package httpapi is the inbound HTTP adapter: echo routes for the queue,
// health, readiness and metrics, and request ids; package problem holds the
// one table that maps the core's errors to RFC 9457 problem responses.
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/1000x-rps-server/rps-server/adapters/httpapi/apidocs"
	"github.com/1000x-rps-server/rps-server/adapters/httpapi/pacing"
	"github.com/1000x-rps-server/rps-server/adapters/httpapi/problem"
	"github.com/1000x-rps-server/rps-server/adapters/httpapi/requestid"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/observability"
)

//go:generate go tool mockgen -destination=httpapimocks/mocks.go -package=httpapimocks . TaskSubmitter

// TaskSubmitter is the use case behind POST /queue (app.SubmitOnce over
// app.SubmitTask). It is declared here, by its consumer, so the adapter
// never imports the app.
type TaskSubmitter interface {
	// Submit runs one task of kind for the request and returns its result.
	Submit(ctx context.Context, client domain.Client, kind domain.Kind, requestID string) (domain.Result, error)
	// SubmitOnce is Submit under the client's idempotency key: a retry gets
	// the first run's outcome (Replayed set, with its request id), also
	// when that was a refusal, which err then is.
	SubmitOnce(ctx context.Context, client domain.Client, key string, kind domain.Kind, requestID string) (domain.Outcome, error)
}

// Config tunes the adapter. Every field is required except RetryAfter,
// Gatherer, TrustedProxies, Tracing and Readiness.
type Config struct {
	// BodyLimit is the largest POST /queue body, in bytes; more is a 413.
	BodyLimit int64
	// RequestTimeout is the deadline of each POST /queue, set on its context.
	RequestTimeout time.Duration
	// RetryAfter is sent with 429 and 503, rounded up to whole seconds (≥ 1).
	RetryAfter time.Duration
	// RefusalPause is the longest a keep-alive connection that ignores a
	// 429's Retry-After is held before its next request is read (see Pace);
	// 0 holds none.
	RefusalPause time.Duration
	// Logger should come from observability.NewLogger, which adds the request
	// id that the middleware puts in each request's context.
	Logger *slog.Logger
	// Registerer receives the HTTP metrics.
	Registerer prometheus.Registerer
	// Gatherer is what GET /metrics serves; nil: the API serves no
	// /metrics (an admin listener of the server's does, apart from the API).
	Gatherer prometheus.Gatherer
	// Readiness is what GET /readyz checks besides draining: the instance's
	// own state, and the dependencies it shares with the other instances,
	// which it reports but is never unready for. The zero value checks
	// nothing.
	Readiness observability.Readiness
	// TrustedProxies are the proxies whose X-Forwarded-For is believed for
	// the client's address (echo's RealIP); none believes no header.
	TrustedProxies []*net.IPNet
	// Tracing makes a server span of each request but the probes and
	// /metrics. Optional: the zero value records nothing, and an incoming
	// traceparent still reaches the broker.
	Tracing observability.Tracing
	// Clients says who sent each request, for the gate's fair share; the
	// zero value makes every request anonymous.
	Clients Clients
}

// readyTimeout bounds one readiness probe of the ports, so a hung store
// cannot hang the probe past the orchestrator's own timeout.
const readyTimeout = 2 * time.Second

// API is the HTTP handler of the server.
type API struct {
	e        *echo.Echo
	handler  http.Handler // e, inside the tracing middleware when tracing is on
	sub      TaskSubmitter
	cfg      Config
	problems *problem.Responder
	draining atomic.Bool
	notReady atomic.Pointer[string] // last readiness seen: "" ready, else the reason; nil before the first probe
	// Bodies that never change, encoded once per API instead of per request.
	helloBody, okBody []byte
	keyHeader         string              // cfg.Clients.Header, canonical
	policies          map[string][]string // RateLimit-Policy by class, see classPolicies
	fair              *fairMetrics
	pacer             *pacing.Pacer // holds connections that ignore Retry-After; see Pace
}

// New builds the routes and middleware around sub.
func New(sub TaskSubmitter, cfg Config) (*API, error) {
	switch {
	case sub == nil:
		return nil, errors.New("httpapi: nil submitter")
	case cfg.Logger == nil:
		return nil, errors.New("httpapi: nil logger")
	case cfg.Registerer == nil:
		return nil, errors.New("httpapi: nil metrics registerer")
	case cfg.BodyLimit < 1:
		return nil, errors.New("httpapi: body limit must be positive")
	case cfg.RequestTimeout <= 0:
		return nil, errors.New("httpapi: request timeout must be positive")
	case cfg.Clients.By == IdentityHeader && cfg.Clients.Header == "":
		return nil, errors.New("httpapi: identity by header needs the header's name")
	case cfg.Clients.By != IdentityNone && cfg.Clients.By != IdentityIP && cfg.Clients.By != IdentityHeader:
		return nil, fmt.Errorf("httpapi: unknown client identity %q", cfg.Clients.By)
	}
	a := &API{
		e:         echo.New(),
		sub:       sub,
		cfg:       cfg,
		problems:  problem.New(cfg.RetryAfter, cfg.Logger),
		helloBody: []byte(`{"Hello":"World"}`),
		okBody:    []byte(`{"status":"ok"}`),
		keyHeader: canonicalHeader(cfg.Clients.Header),
		policies:  classPolicies(cfg.Clients.Policy),
	}
	a.e.HideBanner, a.e.HidePort = true, true
	a.e.HTTPErrorHandler = a.problems.Handle
	a.e.IPExtractor = ipExtractor(cfg.TrustedProxies)

	metrics, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("httpapi: metrics: %w", err)
	}
	if a.fair, err = newFairMetrics(cfg.Registerer, slices.Sorted(maps.Keys(cfg.Clients.Policy.Classes))); err != nil {
		return nil, fmt.Errorf("httpapi: metrics: %w", err)
	}
	held := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "rps_http_connections_held_total",
		Help: "Keep-alive connections whose next request was read only after a 429's Retry-After: refused again before the last one's had passed (http.refusal_pause).",
	})
	if err := cfg.Registerer.Register(held); err != nil {
		return nil, fmt.Errorf("httpapi: metrics: %w", err)
	}
	a.pacer = pacing.New(cfg.RefusalPause, held.Inc, fromProxy(cfg.TrustedProxies))
	// Order matters: the request id comes first so every response carries it;
	// errors are written inside the metrics middleware so it records the
	// status the client got (429, 504…); Recover is innermost so a panic
	// becomes an error that writeErrors turns into a 500 problem.
	// The trace context follows the request id, so its span can name it.
	a.e.Use(requestid.Middleware, traceContext(cfg.Tracing), a.closeWhileDraining, metrics, a.writeErrors, recoverer())

	// The read-only routes answer HEAD too: load balancers and `curl -I`
	// probe with it (net/http leaves the body out).
	readOnly := []string{http.MethodGet, http.MethodHead}
	a.e.Match(readOnly, "/", a.root)
	a.e.POST("/queue", a.queue)
	a.e.Match(readOnly, "/healthz", a.healthz)
	a.e.Match(readOnly, "/readyz", a.readyz)
	a.e.Match(readOnly, "/openapi.yaml", a.openAPI)
	a.e.Match(readOnly, "/docs*", echo.WrapHandler(apidocs.Handler("1000x-rps-server", "/docs", "/openapi.yaml")))
	if cfg.Gatherer != nil {
		a.e.Match(readOnly, "/metrics", echo.WrapHandler(observability.MetricsHandler(cfg.Gatherer)))
	}
	a.handler = traceServer(a.e, cfg.Tracing)
	return a, nil
}

// Pace makes srv, which serves this API over HTTP/1.x, read the next
// request of a connection that ignores a 429's Retry-After only once it has
// passed (package pacing; Config.RefusalPause). Call it before srv serves,
// and stop after srv is closed (Shutdown ends the holds itself).
func (a *API) Pace(srv *http.Server) (stop func()) {
	a.pacer.Install(srv)
	return a.pacer.Stop
}

// ServeHTTP implements http.Handler.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.handler.ServeHTTP(w, r) }

// Drain makes /readyz fail from now on, so load balancers stop sending
// traffic while in-flight requests finish during shutdown, and answers
// carry Connection: close, so keep-alive clients reconnect (through the load
// balancer, elsewhere) instead of reusing a connection about to close.
func (a *API) Drain() { a.draining.Store(true) }

// closeWhileDraining asks the client to close its connection after the
// answer once Drain was called. Closing idle connections instead would race
// a client about to reuse one (a POST is not retried).
func (a *API) closeWhileDraining(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if a.draining.Load() {
			c.Response().Header().Set(echo.HeaderConnection, "close")
		}
		return next(c)
	}
}
