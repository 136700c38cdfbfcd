package httpapi

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo-contrib/echoprometheus"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
)

// writeErrors turns a handler's error into its problem response right away,
// through the same handler echo uses, so there is still one error table.
func (a *API) writeErrors(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := next(c); err != nil {
			a.problems.Handle(err, c)
		}
		return nil
	}
}

// recoverer turns a handler's panic into an error carrying the panicking
// goroutine's stack, which problem.Responder logs once at error level and answers
// with a generic 500; echo's own logger is never used.
func recoverer() echo.MiddlewareFunc {
	return middleware.RecoverWithConfig(middleware.RecoverConfig{
		DisableStackAll:     true, // the panicking goroutine is enough
		DisableErrorHandler: true, // return the error to writeErrors
		LogErrorFunc: func(_ echo.Context, err error, stack []byte) error {
			return fmt.Errorf("handler panic: %w\n%s", err, stack)
		},
	})
}

// newMetrics counts requests and their latency by route, method and status
// (rps_http_requests_total, rps_http_request_duration_seconds) and how many
// are being served (rps_http_requests_in_flight). Every label is bounded:
// unmatched paths share one url label, the Host header (the client's to
// choose) is blanked, unknown methods become OTHER.
func newMetrics(reg prometheus.Registerer) (echo.MiddlewareFunc, error) {
	inFlight := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "rps_http_requests_in_flight", Help: "HTTP requests being served by this instance.",
	})
	if err := reg.Register(inFlight); err != nil {
		return nil, fmt.Errorf("register http metrics: %w", err)
	}
	red, err := echoprometheus.MiddlewareConfig{
		Namespace:                 "rps",
		Subsystem:                 "http",
		Registerer:                reg,
		DoNotUseRequestPathFor404: true,
		LabelFuncs: map[string]echoprometheus.LabelValueFunc{
			"host":   func(echo.Context, error) string { return "" },
			"method": methodLabel,
		},
	}.ToMiddleware()
	if err != nil {
		reg.Unregister(inFlight) // all or nothing
		return nil, fmt.Errorf("register http metrics: %w", err)
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		counted := red(next)
		return func(c echo.Context) error {
			inFlight.Inc()
			defer inFlight.Dec()
			return counted(c)
		}
	}, nil
}

// methodLabel keeps the standard methods and folds any other into OTHER, so a
// scanner inventing methods cannot create new series.
func methodLabel(c echo.Context, _ error) string {
	switch m := c.Request().Method; m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	default:
		return "OTHER"
	}
}
