package observability

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// NewRegistry returns a registry of the process's own, with the Go runtime
// and process collectors, so nothing registers into global state.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// RegisterAll registers every collector in cs, or none: when one fails,
// those registered before it are unregistered, so a constructor that fails
// leaves nothing behind and can be called again on the same registry.
func RegisterAll(reg prometheus.Registerer, cs ...prometheus.Collector) error {
	for i, c := range cs {
		if err := reg.Register(c); err != nil {
			for _, done := range cs[:i] {
				reg.Unregister(done)
			}
			return fmt.Errorf("register metrics: %w", err)
		}
	}
	return nil
}

// readinessTimeout bounds the readiness check a scrape runs, well inside a
// scrape timeout, so a hung dependency reads as not ready, not as a failed
// scrape.
const readinessTimeout = 2 * time.Second

// RegisterReadiness exports rps_ready: 1 when ready(ctx) returns nil at
// scrape time, 0 otherwise. It is what /readyz answers, as a series, so an
// alert can tell "no instance ready" from "instances up but not serving".
func RegisterReadiness(reg prometheus.Registerer, ready func(context.Context) error) error {
	g := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "rps_ready",
		Help: "1 when this instance is ready to serve (what /readyz answers 200 for), 0 otherwise.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), readinessTimeout)
		defer cancel()
		if ready(ctx) != nil {
			return 0
		}
		return 1
	})
	if err := reg.Register(g); err != nil {
		return fmt.Errorf("register readiness metric: %w", err)
	}
	return nil
}
