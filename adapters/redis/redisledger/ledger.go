// Package redisledger is the IssuanceLedger on Redis: one key per task, set
// with SET NX GET so that recording and reading the winner are one atomic
// command, shared by every worker. The records of concurrent tasks go to
// Redis together, one pipeline per batch (a group commit, batch.go); each
// key stays <prefix><task id>, so a cluster client routes it by its own
// slot and a redelivered task finds its record whichever version wrote it.
//
// A record lives only as long as its task can still run again: a keyed
// task's (domain.IsKeyedTask: its idempotency key reruns it as the same id)
// for TTL, any other for Window, which bounds the memory the ledger holds
// to the rate times the window (docs/operations-ledger.md).
package redisledger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/rueidis"

	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/observability"
)

// Config sets up the ledger. Every field is required: the defaults live in
// configs, and New refuses a missing setting. Metrics go to Registerer,
// never to a global registry.
type Config struct {
	// Prefix starts every key: <prefix><task id>.
	Prefix string
	// TTL is how long a keyed task's record lives. Its idempotency key may
	// run it again, as the same id, until the key expires: TTL must be at
	// least the key's TTL, or a retry could be issued a second value.
	TTL time.Duration
	// Window is how long any other task's record lives. It must outlast the
	// task's redeliveries: the worker runs no task older than half of it
	// (configs.Config.MaxTaskAge), so none can come after its record expired.
	Window time.Duration
	// CommandTimeout bounds each batch's pipeline.
	CommandTimeout time.Duration
	Registerer     prometheus.Registerer
	// Logger receives one line at the start and one at the end of each outage.
	Logger *slog.Logger
}

// Ledger records issued values in Redis.
type Ledger struct {
	client  rueidis.Client
	cfg     Config
	metrics *metrics
	outage  *observability.Outage
	commits *committer
	closing sync.Once
}

// New returns the ledger on client, which the caller closes after the
// ledger. The group commit sends concurrent records as one pipeline from
// one goroutine, which the client writes at once: its max flush delay
// matters little here.
func New(client rueidis.Client, cfg Config) (*Ledger, error) {
	if client == nil {
		return nil, errors.New("redisledger: client must be set")
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	// A task whose record fails is answered with an error (the client gets 502).
	return &Ledger{
		client: client, cfg: cfg, metrics: m,
		outage:  observability.NewOutage(cfg.Logger, "redis ledger", "tasks_failed"),
		commits: newCommitter(client, cfg.CommandTimeout, m.observeBatch),
	}, nil
}

// validate refuses a missing or impossible setting with one line naming it.
func (cfg Config) validate() error {
	switch {
	case cfg.Prefix == "":
		return errors.New("redisledger: prefix must be set")
	case cfg.TTL < time.Millisecond:
		return fmt.Errorf("redisledger: ttl must be at least 1ms (got %s)", cfg.TTL)
	case cfg.Window < time.Millisecond || cfg.Window > cfg.TTL:
		return fmt.Errorf("redisledger: window must be at least 1ms and at most the ttl %s (got %s)", cfg.TTL, cfg.Window)
	case cfg.CommandTimeout <= 0:
		return fmt.Errorf("redisledger: command timeout must be positive (got %s)", cfg.CommandTimeout)
	case cfg.Registerer == nil:
		return errors.New("redisledger: registerer must be set")
	case cfg.Logger == nil:
		return errors.New("redisledger: logger is required")
	}
	return nil
}

// Record implements ports.IssuanceLedger with SET key value NX GET PX ttl
// (the TTL for a keyed task, else the window): nil means this call stored
// value; otherwise Redis returns the earlier one.
// The command goes in the next batch; the call waits for its own reply at
// most the command timeout, or until ctx ends. A call that stops waiting
// fails (its task is redelivered) even if its command still runs: the
// redelivery then reads the value it stored, so nothing is issued twice.
func (l *Ledger) Record(ctx context.Context, taskID, value string) (string, error) {
	start := time.Now()
	var res outcome
	keep := l.cfg.Window
	if domain.IsKeyedTask(taskID) {
		keep = l.cfg.TTL
	}
	p, err := l.commits.add(l.cfg.Prefix+taskID, value, keep, start)
	if err == nil {
		select {
		case res = <-p.done:
			l.commits.release(p)
		case <-ctx.Done():
			res.err = context.Cause(ctx)
		}
	} else {
		res.err = err
	}
	switch {
	case res.err != nil:
		l.metrics.failed.Inc()
		// Not a worker shutting down: its ctx cancelled, or the ledger closed.
		if !errors.Is(res.err, context.Canceled) && !errors.Is(res.err, errClosed) {
			l.outage.Down(start, res.err, true)
		}
		return "", fmt.Errorf("redisledger: record %s: %w: %w", taskID, domain.ErrUnavailable, res.err)
	case res.fresh:
		l.metrics.fresh.Inc()
		l.outage.Up()
		return value, nil
	}
	l.metrics.hit.Inc()
	l.outage.Up()
	return res.earlier, nil
}

// Ready pings Redis.
func (l *Ledger) Ready(ctx context.Context) error {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, l.cfg.CommandTimeout)
	defer cancel()
	if err := l.client.Do(ctx, l.client.B().Ping().Build()).Error(); err != nil {
		l.outage.Down(start, err, false)
		return fmt.Errorf("redisledger: ping: %w: %w", domain.ErrUnavailable, err)
	}
	l.outage.Up()
	return nil
}

// Close fails the records still queued and waits for a batch under way (at
// most the command timeout). Record fails afterwards. The client is the
// caller's to close, after this.
func (l *Ledger) Close() { l.closing.Do(l.commits.close) }
