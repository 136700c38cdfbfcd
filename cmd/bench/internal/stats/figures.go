package stats

import (
	"strconv"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram bounds: microseconds from 1 µs to 2 min, 3 significant digits.
const (
	lowestUS  = 1
	highestUS = 120_000_000
	sigFigs   = 3
)

func newHist() *hdr.Histogram { return hdr.New(lowestUS, highestUS, sigFigs) }

// Latency is a latency distribution in milliseconds.
type Latency struct {
	Count   int64   `json:"count"`
	MinMs   float64 `json:"min_ms"`
	MeanMs  float64 `json:"mean_ms"`
	P50Ms   float64 `json:"p50_ms"`
	P66Ms   float64 `json:"p66_ms"`
	P75Ms   float64 `json:"p75_ms"`
	P80Ms   float64 `json:"p80_ms"`
	P90Ms   float64 `json:"p90_ms"`
	P95Ms   float64 `json:"p95_ms"`
	P98Ms   float64 `json:"p98_ms"`
	P99Ms   float64 `json:"p99_ms"`
	P999Ms  float64 `json:"p99_9_ms"`
	P9999Ms float64 `json:"p99_99_ms"`
	MaxMs   float64 `json:"max_ms"`
}

var latencyPercentiles = []float64{50, 66, 75, 80, 90, 95, 98, 99, 99.9, 99.99}

func ms(us int64) float64 { return float64(us) / 1000 }

// latencyOf reads a histogram of microseconds.
func latencyOf(h *hdr.Histogram) Latency {
	if h == nil || h.TotalCount() == 0 {
		return Latency{}
	}
	p := h.ValueAtPercentilesSlice(latencyPercentiles)
	return Latency{
		Count: h.TotalCount(), MinMs: ms(h.Min()), MeanMs: h.Mean() / 1000,
		P50Ms: ms(p[0]), P66Ms: ms(p[1]), P75Ms: ms(p[2]), P80Ms: ms(p[3]), P90Ms: ms(p[4]),
		P95Ms: ms(p[5]), P98Ms: ms(p[6]), P99Ms: ms(p[7]), P999Ms: ms(p[8]), P9999Ms: ms(p[9]),
		MaxMs: ms(h.Max()),
	}
}

// RouteStats are the figures of one route (or of all, "Aggregated") over the
// measured window.
type RouteStats struct {
	Method         string  `json:"method"`
	Name           string  `json:"name"`
	Requests       int64   `json:"requests"`
	Failures       int64   `json:"failures"` // every class but ok and 429
	RPS            float64 `json:"requests_per_s"`
	OKPerSec       float64 `json:"ok_per_s"`
	FailuresPerSec float64 `json:"failures_per_s"`
	AvgBytes       float64 `json:"avg_content_bytes"`
	// Classes counts requests by class: ok, 429, 4xx, 5xx, network_error, bad_answer.
	Classes map[string]int64 `json:"classes"`
	// Status counts HTTP status codes; "net" counts requests with no answer.
	Status map[string]int64 `json:"status"`
	// Errors counts failures by what went wrong, as failures.csv lists them.
	Errors         map[string]int64   `json:"errors,omitempty"`
	Latency        Latency            `json:"latency"`
	LatencyByClass map[string]Latency `json:"latency_by_class"`
}

// Count returns the number of requests of class c.
func (s RouteStats) Count(c Class) int64 { return s.Classes[c.String()] }

// agg is everything recorded for one route.
type agg struct {
	all     *hdr.Histogram
	byClass [numClasses]*hdr.Histogram
	counts  [numClasses]int64
	status  map[int]int64
	errors  map[string]int64
	bytes   int64
}

func newAgg() *agg {
	return &agg{all: newHist(), status: map[int]int64{}, errors: map[string]int64{}}
}

func (a *agg) add(o Outcome, us int64) {
	_ = a.all.RecordValue(us)
	if a.byClass[o.Class] == nil {
		a.byClass[o.Class] = newHist()
	}
	_ = a.byClass[o.Class].RecordValue(us)
	a.counts[o.Class]++
	a.status[o.Status]++
	a.bytes += int64(o.Bytes)
	if o.Class.Failure() {
		a.errors[o.Error]++
	}
}

func (a *agg) merge(b *agg) {
	a.all.Merge(b.all)
	for c, h := range b.byClass {
		if h == nil {
			continue
		}
		if a.byClass[c] == nil {
			a.byClass[c] = newHist()
		}
		a.byClass[c].Merge(h)
	}
	for c, n := range b.counts {
		a.counts[c] += n
	}
	for s, n := range b.status {
		a.status[s] += n
	}
	for e, n := range b.errors {
		a.errors[e] += n
	}
	a.bytes += b.bytes
}

func (a *agg) stats(method, name string, seconds float64) RouteStats {
	s := RouteStats{
		Method: method, Name: name,
		Classes: map[string]int64{}, Status: map[string]int64{}, Errors: map[string]int64{},
		Latency: latencyOf(a.all), LatencyByClass: map[string]Latency{},
	}
	for _, c := range Classes {
		s.Classes[c.String()] = a.counts[c]
		s.Requests += a.counts[c]
		if c.Failure() {
			s.Failures += a.counts[c]
		}
		if a.byClass[c] != nil {
			s.LatencyByClass[c.String()] = latencyOf(a.byClass[c])
		}
	}
	for code, n := range a.status {
		key := "net"
		if code != 0 {
			key = strconv.Itoa(code)
		}
		s.Status[key] = n
	}
	for e, n := range a.errors {
		s.Errors[e] = n
	}
	if s.Requests > 0 {
		s.AvgBytes = float64(a.bytes) / float64(s.Requests)
	}
	if seconds > 0 {
		s.RPS = float64(s.Requests) / seconds
		s.OKPerSec = float64(a.counts[OK]) / seconds
		s.FailuresPerSec = float64(s.Failures) / seconds
	}
	return s
}
