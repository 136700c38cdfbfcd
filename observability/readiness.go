package observability

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ReadyCheck is one readiness check: nil while what it checks can serve.
type ReadyCheck func(context.Context) error

// Dependency is something every instance shares (Redis, Kafka, the
// workers), with the check that says whether it answers this instance.
type Dependency struct {
	Name  string
	Check ReadyCheck
}

// Readiness is what /readyz and rps_ready report. Own is the instance's own
// state (starting, or an in-process port that failed): only it makes the
// instance unready. Dependencies are shared by every instance: when one
// fails, every instance fails alike, so taking them all out of the load
// balancer would only swap each request's own 503 and Retry-After for the
// balancer's bare one. Their state is reported instead, and each request
// that needs them is refused on its own. The zero Readiness is always ready.
type Readiness struct {
	Own          ReadyCheck
	Dependencies []Dependency
}

// Check runs every check once under ctx.
func (r Readiness) Check(ctx context.Context) Report {
	var rep Report
	if r.Own != nil {
		rep.Err = r.Own(ctx)
	}
	for _, d := range r.Dependencies {
		rep.Dependencies = append(rep.Dependencies, DependencyState{Name: d.Name, Err: d.Check(ctx)})
	}
	return rep
}

// Report is the outcome of one readiness check.
type Report struct {
	// Err is why this instance should get no traffic; nil: ready.
	Err error
	// Dependencies are the shared dependencies, in the order checked.
	Dependencies []DependencyState
}

// DependencyState is one shared dependency as this instance sees it.
type DependencyState struct {
	Name string
	Err  error // nil while it answers
}

// Dependency states in a /readyz body.
const (
	stateUp   = "up"
	stateDown = "down"
)

// readyBody is the JSON of a /readyz answer.
type readyBody struct {
	Status       string            `json:"status"`
	Reason       string            `json:"reason,omitempty"`
	Dependencies map[string]string `json:"dependencies,omitempty"`
}

// Body is the JSON a /readyz answers with, e.g.
// {"status":"ready","dependencies":{"kafka":"up","redis":"down"}}; when not
// ready, status is "not ready" and reason says why (reason is made by the
// caller: an error's text may hold addresses). Dependencies' errors stay
// out: they go to the log.
func (r Report) Body(reason string) []byte {
	b := readyBody{Status: "ready"}
	if r.Err != nil {
		b.Status, b.Reason = "not ready", reason
	}
	if len(r.Dependencies) > 0 {
		b.Dependencies = make(map[string]string, len(r.Dependencies))
		for _, d := range r.Dependencies {
			b.Dependencies[d.Name] = state(d.Err)
		}
	}
	out, err := json.Marshal(b)
	if err != nil { // strings only: cannot happen
		return []byte(`{"status":"not ready"}`)
	}
	return out
}

func state(err error) string {
	if err != nil {
		return stateDown
	}
	return stateUp
}

// readinessTimeout bounds the readiness check a scrape runs, well inside a
// scrape timeout, so a hung dependency reads as not ready, not as a failed
// scrape.
const readinessTimeout = 2 * time.Second

// SelfDependency is the rps_ready series of the instance itself (what
// /readyz answers 200 for); the other values of the label name a shared
// dependency.
const SelfDependency = "self"

// readinessCollector exports one readiness check per scrape as rps_ready.
type readinessCollector struct {
	desc  *prometheus.Desc
	check func(context.Context) Report
}

// RegisterReadiness exports rps_ready, asked at scrape time: 1 or 0 for
// dependency="self", this instance (what /readyz answers 200 for), and for
// each shared dependency under its name (redis, kafka, workers), as this
// instance sees it. So an alert can tell "no instance ready" from "Redis
// unreachable", which leaves every instance ready.
func RegisterReadiness(reg prometheus.Registerer, check func(context.Context) Report) error {
	c := &readinessCollector{
		desc: prometheus.NewDesc("rps_ready",
			`1 when ready, else 0: dependency="self" is this instance (what /readyz answers 200 for), any other value a dependency every instance shares (redis, kafka, workers), as this instance sees it.`,
			[]string{"dependency"}, nil),
		check: check,
	}
	if err := reg.Register(c); err != nil {
		return fmt.Errorf("register readiness metric: %w", err)
	}
	return nil
}

func (c *readinessCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *readinessCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), readinessTimeout)
	defer cancel()
	rep := c.check(ctx)
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, up(rep.Err), SelfDependency)
	for _, d := range rep.Dependencies {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, up(d.Err), d.Name)
	}
}

func up(err error) float64 {
	if err != nil {
		return 0
	}
	return 1
}
