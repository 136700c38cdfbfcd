// Package serverapp assembles the server's application from its config and
// its ports, once: cmd/server runs it on the adapters the config names, and
// the component tests beside it run it with a broker double of their own (as
// wild-workouts' NewApplication and NewComponentTestApplication do), so no
// test copies the wiring. Tests outside cmd/server run the built binary.
package serverapp

import (
	"context"
	"crypto/rand"
	"log/slog"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/1000x-rps-server/rps-server/adapters/httpapi"
	"github.com/1000x-rps-server/rps-server/app"
	"github.com/1000x-rps-server/rps-server/configs"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/observability"
	"github.com/1000x-rps-server/rps-server/ports"
)

// App is the server's application: the HTTP API over the submit use case,
// and the ports it opened, which Close closes.
type App struct {
	API   *httpapi.API
	ports *serverPorts
	log   *slog.Logger
}

// New opens the ports cfg names (Redis or in-memory gate and idempotency
// store, then Kafka or an in-process broker and worker) and assembles the
// application on them, traced by tr (the zero Tracing is off).
func New(ctx context.Context, cfg configs.Config, log *slog.Logger, reg *prometheus.Registry, tr observability.Tracing) (*App, error) {
	handlers := app.DefaultHandlers(rand.Reader)
	share, err := sharePolicy(cfg)
	if err != nil {
		return nil, err
	}
	p := &serverPorts{tracing: tr, share: share}
	err = p.openStores(ctx, cfg, log, reg)
	if err == nil {
		err = p.openBroker(cfg, handlers, log, reg)
	}
	if err != nil {
		p.close(log)
		return nil, err
	}
	if !cfg.UsesRedis() && !cfg.UsesKafka() {
		log.Warn("embedded mode: in-memory gate and in-process worker. This is a single process " +
			"with nothing shared: run one instance only, and set REDIS_URL and KAFKA_BOOTSTRAP_SERVERS to scale out")
	}
	return newApplication(cfg, p, app.KindsOf(handlers), log, reg)
}

// NewComponentTest assembles the application as New does, on the gate and
// store cfg names, but on broker instead of the one cfg names: a double the
// test controls and closes. The service's own task kinds are accepted.
func NewComponentTest(ctx context.Context, cfg configs.Config, broker ports.TaskBroker, log *slog.Logger, reg *prometheus.Registry) (*App, error) {
	kinds := app.KindsOf(app.DefaultHandlers(rand.Reader))
	share, err := sharePolicy(cfg)
	if err != nil {
		return nil, err
	}
	p := &serverPorts{broker: broker, share: share}
	if err := p.openStores(ctx, cfg, log, reg); err != nil {
		p.close(log)
		return nil, err
	}
	return newApplication(cfg, p, kinds, log, reg)
}

// newApplication builds the application over p's ports; on error it closes
// them.
func newApplication(cfg configs.Config, p *serverPorts, kinds []domain.Kind, log *slog.Logger, reg *prometheus.Registry) (*App, error) {
	api, err := buildAPI(cfg, p, kinds, log, reg)
	if err == nil {
		err = observability.RegisterReadiness(reg, api.Readiness)
	}
	if err != nil {
		p.close(log)
		return nil, err
	}
	return &App{API: api, ports: p, log: log}, nil
}

// buildAPI builds the submit use cases over p's gate, store and broker,
// then the HTTP API over the use cases.
func buildAPI(cfg configs.Config, p *serverPorts, kinds []domain.Kind, log *slog.Logger, reg *prometheus.Registry) (*httpapi.API, error) {
	submit, err := app.NewSubmitTask(p.gate, p.broker, app.SubmitTaskConfig{
		Kinds:          kinds,
		ReplyTimeout:   cfg.Task.ReplyTimeout,
		ReleaseTimeout: cfg.Gate.ReleaseTimeout,
		NewID:          uuid.NewString,
		Logger:         log,
	})
	if err != nil {
		return nil, err
	}
	// A key's lease is made from these: the run's deadline, the slot release
	// after it, the store call that ends the run (SubmitOnceConfig.Lease).
	once, err := app.NewSubmitOnce(submit, p.idem, app.SubmitOnceConfig{
		RunTimeout: cfg.HTTP.RequestTimeout, RunnerGrace: cfg.Gate.ReleaseTimeout, StoreTimeout: cfg.Redis.CommandTimeout,
		NewID: uuid.NewString, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	proxies, err := trustedProxies(cfg.HTTP.TrustedProxies)
	if err != nil {
		return nil, err
	}
	clients, err := clientsOf(cfg, p.share)
	if err != nil {
		return nil, err
	}
	var metrics prometheus.Gatherer = reg
	if cfg.HTTP.AdminAddr != "" {
		metrics = nil // served on the admin listener (cmd/server), apart from the API
	}
	return httpapi.New(once, httpapi.Config{
		TrustedProxies: proxies,
		BodyLimit:      cfg.HTTP.BodyLimit,
		RequestTimeout: cfg.HTTP.RequestTimeout,
		RetryAfter:     cfg.HTTP.RetryAfter,
		RefusalPause:   cfg.HTTP.RefusalPause,
		Logger:         log,
		Registerer:     reg,
		Gatherer:       metrics,
		Tracing:        p.tracing,
		Readiness:      p.readiness(cfg),
		Clients:        clients,
	})
}

// Close closes the ports the application opened, the last opened first:
// the broker (it may still deliver replies), then the gate and the store,
// then the Redis client. A broker given to NewComponentTest is the caller's.
func (a *App) Close() { a.ports.close(a.log) }

// Failed delivers, once, the error of a port that gave up for good: the
// Kafka broker, when Kafka turned it away at start for its settings (a
// wrong password, an untrusted certificate). The server should stop with
// it. Nothing is ever sent in the embedded mode or on a test's broker.
func (a *App) Failed() <-chan error { return a.ports.failed }
