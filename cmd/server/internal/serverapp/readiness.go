package serverapp

import (
	"context"
	"errors"
	"fmt"

	"github.com/1000x-rps-server/rps-server/configs"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/observability"
)

// Names of the shared dependencies in /readyz and rps_ready{dependency}.
const (
	dependencyRedis   = "redis"
	dependencyKafka   = "kafka"
	dependencyWorkers = "workers"
)

// readiness is what /readyz and rps_ready check over p's ports. A port in
// this process (the memory gate, the in-process broker, a test's double) is
// the instance's own: its failure makes the instance unready, as does the
// Kafka broker before it has started. Redis, Kafka and the workers are
// shared by every instance: each is reported by name, and never makes the
// instance unready (a request that needs one gets its own 503).
func (p *serverPorts) readiness(cfg configs.Config) observability.Readiness {
	var own []func(context.Context) error
	var deps []observability.Dependency
	if cfg.UsesRedis() {
		// A gate that fails open serves without Redis, and says so here.
		deps = append(deps, observability.Dependency{Name: dependencyRedis, Check: p.gate.Ready})
	} else {
		own = append(own, portCheck("gate", p.gate.Ready))
	}
	if cfg.UsesKafka() {
		b := p.broker
		own = append(own, portCheck("broker", func(ctx context.Context) error { return only(b.Ready(ctx), domain.ErrStarting) }))
		deps = append(deps,
			observability.Dependency{Name: dependencyKafka, Check: func(ctx context.Context) error { return kafkaReached(b.Ready(ctx)) }},
			observability.Dependency{Name: dependencyWorkers, Check: b.Ready},
		)
	} else {
		own = append(own, portCheck("broker", p.broker.Ready))
	}
	return observability.Readiness{Own: firstFailure(own), Dependencies: deps}
}

// portCheck names the port in front of its check's error ("gate: …"), which
// /readyz turns into its public reason ("gate unavailable").
func portCheck(port string, check func(context.Context) error) func(context.Context) error {
	return func(ctx context.Context) error {
		if err := check(ctx); err != nil {
			return fmt.Errorf("%s: %w", port, err)
		}
		return nil
	}
}

// firstFailure runs checks in order and returns the first error.
func firstFailure(checks []func(context.Context) error) observability.ReadyCheck {
	return func(ctx context.Context) error {
		for _, c := range checks {
			if err := c(ctx); err != nil {
				return err
			}
		}
		return nil
	}
}

// only keeps err when it is target, else nil.
func only(err, target error) error {
	if errors.Is(err, target) {
		return err
	}
	return nil
}

// kafkaReached is the Kafka part of a broker's readiness error: nil once
// the broker has reached Kafka (no worker consuming is the workers' part).
func kafkaReached(err error) error {
	if errors.Is(err, domain.ErrNoWorkers) {
		return nil
	}
	return err
}
