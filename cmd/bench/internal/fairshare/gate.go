package fairshare

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/target"
)

// The servers' gate gauges the sampler reads from /metrics.
const (
	metricInUse    = "rps_gate_slots_in_use" // slots held by requests through one instance
	metricLeased   = "rps_gate_slots_leased" // slots one instance leases in Redis (block mode)
	metricCapacity = "rps_gate_capacity"     // the cluster-wide cap
)

// zcardEvery is how often the lease set is counted: cheap, so often, to
// catch a short excursion over the cap.
const zcardEvery = 5 * time.Millisecond

// GateUse is what the samples saw of the gate during the measured window.
//
// Utilisation comes from the servers' own gauges: the sum over the
// instances of the slots held by requests (rps_gate_slots_in_use), which is
// the work in flight. The lease set in Redis (ZCARD) is the cap's own
// count: it also holds slots an instance leased and has not handed to a
// request yet (block mode), so it bounds the work in flight from above and
// is the figure to hold against the capacity. The gauges of three instances
// are scraped in parallel, not at one instant, so their sum may be off by
// the requests that came or went between the scrapes.
type GateUse struct {
	Capacity     int     `json:"capacity"`
	Samples      int     `json:"metric_samples"`
	ScrapeErrors int     `json:"scrape_errors"`
	MeanInUse    float64 `json:"mean_in_use"`
	MaxInUse     int     `json:"max_in_use"`
	Utilisation  float64 `json:"utilisation"` // MeanInUse / Capacity
	MaxLeased    int     `json:"max_leased"`  // the largest sum of rps_gate_slots_leased
	// Lease set: nil when no Redis was given.
	ZCard *ZCardUse `json:"zcard,omitempty"`
}

// ZCardUse is what ZCARD of the gate's key saw.
type ZCardUse struct {
	Key       string  `json:"key"`
	Samples   int     `json:"samples"`
	Max       int64   `json:"max"`
	Mean      float64 `json:"mean"`
	Errors    int     `json:"errors"`
	LastError string  `json:"last_error,omitempty"`
}

// sampler reads the gate while the measured window lasts.
type sampler struct {
	bases       []string
	every       time.Duration
	probe       *RedisProbe
	allowRemote bool
	http        *http.Client

	mu       sync.Mutex
	use      GateUse
	sumInUse float64
	zsum     float64
}

func newSampler(bases []string, every time.Duration, probe *RedisProbe, allowRemote bool) *sampler {
	d := &net.Dialer{Timeout: 2 * time.Second}
	s := &sampler{
		bases: bases, every: every, probe: probe, allowRemote: allowRemote,
		http: &http.Client{
			Timeout:   2 * time.Second,
			Transport: &http.Transport{DialContext: target.GuardDial(d.DialContext, allowRemote, net.DefaultResolver), MaxIdleConnsPerHost: 2},
		},
	}
	if probe != nil {
		s.use.ZCard = &ZCardUse{Key: probe.Key}
	}
	return s
}

// run samples until ctx ends.
func (s *sampler) run(ctx context.Context) {
	defer s.http.CloseIdleConnections()
	var wg sync.WaitGroup
	if s.probe != nil {
		wg.Go(func() { s.countLeases(ctx) })
	}
	t := time.NewTicker(s.every)
	defer t.Stop()
	for {
		s.scrape(ctx)
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-t.C:
		}
	}
}

// scrape reads every instance's gauges at once and records their sums.
func (s *sampler) scrape(ctx context.Context) {
	type gauges struct {
		inUse, leased, capacity float64
		err                     error
	}
	got := make([]gauges, len(s.bases))
	var wg sync.WaitGroup
	for i, b := range s.bases {
		wg.Go(func() {
			v, err := s.gauges(ctx, b)
			got[i] = gauges{v[metricInUse], v[metricLeased], v[metricCapacity], err}
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return
	}
	var inUse, leased float64
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range got {
		if g.err != nil {
			s.use.ScrapeErrors++
			return
		}
		inUse += g.inUse
		leased += g.leased
		s.use.Capacity = max(s.use.Capacity, int(g.capacity))
	}
	s.use.Samples++
	s.sumInUse += inUse
	s.use.MaxInUse = max(s.use.MaxInUse, int(inUse))
	s.use.MaxLeased = max(s.use.MaxLeased, int(leased))
}

// gauges reads the gate's gauges from base/metrics.
func (s *sampler) gauges(ctx context.Context, base string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", http.NoBody)
	if err != nil {
		return nil, err
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s/metrics: %s", base, resp.Status)
	}
	return parseGauges(resp.Body, metricInUse, metricLeased, metricCapacity)
}

// parseGauges reads the unlabelled samples called names from a Prometheus
// text page; a name that is absent reads as 0.
func parseGauges(r io.Reader, names ...string) (map[string]float64, error) {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || !want[name] {
			continue
		}
		v, err := strconv.ParseFloat(strings.Fields(value)[0], 64)
		if err != nil {
			return nil, fmt.Errorf("metric %s: %w", name, err)
		}
		out[name] = v
	}
	return out, sc.Err()
}

// countLeases runs ZCARD on the gate's key every zcardEvery until ctx ends,
// on one connection (dialled again after an error).
func (s *sampler) countLeases(ctx context.Context) {
	var conn *redisConn
	defer func() {
		if conn != nil {
			conn.close()
		}
	}()
	t := time.NewTicker(zcardEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var n int64
		var err error
		if conn == nil {
			conn, err = s.probe.dial(ctx, s.allowRemote)
		}
		if err == nil {
			if n, err = conn.zcard(s.probe.Key); err != nil {
				conn.close()
				conn = nil
			}
		}
		s.mu.Lock()
		z := s.use.ZCard
		if err != nil {
			z.Errors++
			z.LastError = err.Error()
		} else {
			z.Samples++
			z.Max = max(z.Max, n)
			s.zsum += float64(n)
		}
		s.mu.Unlock()
	}
}

// result returns what the samples saw.
func (s *sampler) result() GateUse {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.use
	if u.Samples > 0 {
		u.MeanInUse = s.sumInUse / float64(u.Samples)
	}
	if u.Capacity > 0 {
		u.Utilisation = u.MeanInUse / float64(u.Capacity)
	}
	if u.ZCard != nil {
		z := *u.ZCard
		if z.Samples > 0 {
			z.Mean = s.zsum / float64(z.Samples)
		}
		u.ZCard = &z
	}
	return u
}
