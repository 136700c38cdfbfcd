// Package httpapi is the inbound HTTP adapter: echo routes for the queue,
// health, readiness and metrics, request ids, and one table that maps the
// core's errors to RFC 9457 problem responses.
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/labstack/echo-contrib/echoprometheus"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/1000x-rps-server/rps-server/domain"
)

//go:generate go tool mockgen -destination=mocks/mocks.go -package=mocks . TaskSubmitter

// TaskSubmitter is the use case behind POST /queue (app.SubmitTask).
type TaskSubmitter interface {
	// Submit runs one task of kind for the request and returns its result.
	Submit(ctx context.Context, kind domain.Kind, requestID string) (domain.Result, error)
	// Ready reports whether every port behind the use case can serve.
	Ready(ctx context.Context) error
}

// Config tunes the adapter.
type Config struct {
	BodyLimit      int64         // largest POST /queue body, in bytes
	RequestTimeout time.Duration // deadline of each POST /queue
	RetryAfter     time.Duration // sent with 429 and 503, in whole seconds
	Logger         *slog.Logger
	Registerer     prometheus.Registerer // HTTP metrics are registered here
	Gatherer       prometheus.Gatherer   // and /metrics serves this
}

// readyTimeout bounds one readiness probe of the ports.
const readyTimeout = 2 * time.Second

// API is the HTTP handler of the server.
type API struct {
	e          *echo.Echo
	sub        TaskSubmitter
	cfg        Config
	retryAfter string
	draining   atomic.Bool
}

// New builds the routes and middleware around sub.
func New(sub TaskSubmitter, cfg Config) (*API, error) {
	switch {
	case sub == nil:
		return nil, errors.New("httpapi: nil submitter")
	case cfg.Logger == nil || cfg.Registerer == nil || cfg.Gatherer == nil:
		return nil, errors.New("httpapi: logger, registerer and gatherer are required")
	case cfg.BodyLimit < 1 || cfg.RequestTimeout <= 0:
		return nil, errors.New("httpapi: body limit and request timeout must be positive")
	}
	a := &API{e: echo.New(), sub: sub, cfg: cfg, retryAfter: retryAfterSeconds(cfg.RetryAfter)}
	a.e.HideBanner, a.e.HidePort = true, true
	a.e.HTTPErrorHandler = a.handleError

	metrics, err := echoprometheus.MiddlewareConfig{
		Namespace:  "rps",
		Subsystem:  "http",
		Registerer: cfg.Registerer,
		// Unmatched paths share one label, so scanners cannot blow up cardinality.
		DoNotUseRequestPathFor404: true,
		// The Host header is the client's to choose: not a label.
		LabelFuncs: map[string]echoprometheus.LabelValueFunc{
			"host": func(echo.Context, error) string { return "" },
		},
	}.ToMiddleware()
	if err != nil {
		return nil, fmt.Errorf("httpapi: metrics: %w", err)
	}
	// Errors are written inside the metrics middleware, so it records the
	// status the client got (429, 504…), not a generic 500.
	a.e.Use(requestID, metrics, a.writeErrors, middleware.Recover())

	a.e.GET("/", a.root)
	a.e.POST("/queue", a.queue)
	a.e.GET("/healthz", a.healthz)
	a.e.GET("/readyz", a.readyz)
	a.e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(cfg.Gatherer, promhttp.HandlerOpts{})))
	return a, nil
}

// writeErrors turns a handler's error into its problem response right away.
func (a *API) writeErrors(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := next(c); err != nil {
			a.handleError(err, c)
		}
		return nil
	}
}

// ServeHTTP implements http.Handler.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.e.ServeHTTP(w, r) }

// Drain makes /readyz fail from now on, so load balancers stop sending
// traffic while in-flight requests finish during shutdown.
func (a *API) Drain() { a.draining.Store(true) }
