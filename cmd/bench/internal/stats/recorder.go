package stats

import (
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// RouteInfo names a route as Locust's CSVs do.
type RouteInfo struct {
	Method string
	Name   string
}

// AggregatedName is the name of the all-routes row, as in Locust's CSVs.
const AggregatedName = "Aggregated"

// Phases of a run, as history.csv marks each second.
const (
	PhaseWarmup  = "warmup"
	PhaseMeasure = "measure"
)

// TickRow is one route's (or all routes') figures over one history interval.
type TickRow struct {
	Method        string
	Name          string
	Requests      int64
	OK            int64
	Limited       int64
	Failures      int64
	RPS           float64
	OKPerSec      float64
	LimitedPerSec float64
	FailPerSec    float64
	P50Ms         float64
	P90Ms         float64
	P99Ms         float64
	P999Ms        float64
	MaxMs         float64
}

// Tick is one interval of the history (about a second): one row per route,
// then the aggregated row.
type Tick struct {
	Time    time.Time
	Elapsed time.Duration // since the recorder's start
	Phase   string
	Users   int // users running (closed model) or requests in flight (open model)
	Rows    []TickRow
}

// Aggregated returns the all-routes row.
func (t Tick) Aggregated() TickRow { return t.Rows[len(t.Rows)-1] }

// window is what was recorded since the last tick.
type window struct {
	h      *hdr.Histogram
	counts [numClasses]int64
}

// Recorder collects outcomes. Requests sent before measureFrom are warm-up:
// they appear in the history and the live totals, not in the final figures.
// It is safe for concurrent use.
type Recorder struct {
	mu          sync.Mutex
	routes      []RouteInfo
	start       time.Time
	measureFrom time.Time
	measured    []*agg
	windows     []*window
	winAll      *hdr.Histogram
	lastTick    time.Time
	history     []Tick
	totals      [numClasses]int64
}

// NewRecorder returns a recorder for routes whose run starts at start and
// whose measured window starts at measureFrom.
func NewRecorder(routes []RouteInfo, start, measureFrom time.Time) *Recorder {
	r := &Recorder{routes: routes, start: start, measureFrom: measureFrom, lastTick: start, winAll: newHist()}
	for range routes {
		r.measured = append(r.measured, newAgg())
		r.windows = append(r.windows, &window{h: newHist()})
	}
	return r
}

// Record adds one finished request.
func (r *Recorder) Record(o Outcome) {
	us := max(o.Latency.Microseconds(), lowestUS)
	us = min(us, highestUS)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.totals[o.Class]++
	w := r.windows[o.Route]
	_ = w.h.RecordValue(us)
	w.counts[o.Class]++
	if !o.Start.Before(r.measureFrom) {
		r.measured[o.Route].add(o, us)
	}
}

// Tick closes the current history interval at now, with users running, and
// returns it.
func (r *Recorder) Tick(now time.Time, users int) Tick {
	r.mu.Lock()
	defer r.mu.Unlock()
	secs := now.Sub(r.lastTick).Seconds()
	t := Tick{Time: now, Elapsed: now.Sub(r.start), Phase: PhaseMeasure, Users: users}
	if r.lastTick.Before(r.measureFrom) {
		t.Phase = PhaseWarmup // the interval began in the warm-up
	}
	r.lastTick = now
	var all [numClasses]int64
	r.winAll.Reset()
	for i, w := range r.windows {
		t.Rows = append(t.Rows, tickRow(r.routes[i], w.h, w.counts, secs))
		r.winAll.Merge(w.h)
		for c, n := range w.counts {
			all[c] += n
		}
		w.h.Reset()
		w.counts = [numClasses]int64{}
	}
	t.Rows = append(t.Rows, tickRow(RouteInfo{Name: AggregatedName}, r.winAll, all, secs))
	r.history = append(r.history, t)
	return t
}

func tickRow(ri RouteInfo, h *hdr.Histogram, counts [numClasses]int64, secs float64) TickRow {
	row := TickRow{Method: ri.Method, Name: ri.Name, OK: counts[OK], Limited: counts[Limited]}
	for c, n := range counts {
		row.Requests += n
		if Class(c).Failure() {
			row.Failures += n
		}
	}
	if secs > 0 {
		row.RPS = float64(row.Requests) / secs
		row.OKPerSec = float64(row.OK) / secs
		row.LimitedPerSec = float64(row.Limited) / secs
		row.FailPerSec = float64(row.Failures) / secs
	}
	if h.TotalCount() > 0 {
		p := h.ValueAtPercentilesSlice([]float64{50, 90, 99, 99.9})
		row.P50Ms, row.P90Ms, row.P99Ms, row.P999Ms = ms(p[0]), ms(p[1]), ms(p[2]), ms(p[3])
		row.MaxMs = ms(h.Max())
	}
	return row
}

// LastTick returns when the current history interval began.
func (r *Recorder) LastTick() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastTick
}

// History returns the ticks so far.
func (r *Recorder) History() []Tick {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Tick(nil), r.history...)
}

// Totals counts every request recorded so far by class, warm-up included.
type Totals struct {
	Requests int64
	OK       int64
	Limited  int64
	Failures int64
}

// Totals returns the counts so far, for the live view.
func (r *Recorder) Totals() Totals {
	r.mu.Lock()
	defer r.mu.Unlock()
	var t Totals
	for c, n := range r.totals {
		t.Requests += n
		if Class(c).Failure() {
			t.Failures += n
		}
	}
	t.OK, t.Limited = r.totals[OK], r.totals[Limited]
	return t
}

// Stats are the final figures of the measured window.
type Stats struct {
	Routes     []RouteStats `json:"routes"`
	Aggregated RouteStats   `json:"aggregated"`
}

// Route returns the figures of the route named name (its path), if any.
func (s Stats) Route(name string) (RouteStats, bool) {
	for _, r := range s.Routes {
		if r.Name == name {
			return r, true
		}
	}
	return RouteStats{}, false
}

// Stats computes the figures of the measured window, which lasted measured.
func (r *Recorder) Stats(measured time.Duration) Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	secs := measured.Seconds()
	var s Stats
	all := newAgg()
	for i, a := range r.measured {
		s.Routes = append(s.Routes, a.stats(r.routes[i].Method, r.routes[i].Name, secs))
		all.merge(a)
	}
	s.Aggregated = all.stats("", AggregatedName, secs)
	return s
}
