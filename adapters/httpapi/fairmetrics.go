package httpapi

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/1000x-rps-server/rps-server/domain"
)

// The most-refused view: the topN clients refused most over about a minute,
// among those that sent at least topMinRequests in it. A client first
// counts from its first refusal of the minute (admissions before it are not
// seen), and at most topTracked clients are counted per minute, so memory
// stays bounded whatever the number of clients.
const (
	topN           = 10
	topWindow      = time.Minute
	topMinRequests = 10
	topTracked     = 10_000
)

// limits are the limit label's values, made up front so every series
// exists from the start (a dashboard or rule never names a missing one).
var limits = []domain.Limit{domain.LimitCapacity, domain.LimitFairShare, domain.LimitCeiling, domain.LimitRate}

// fairMetrics counts POST /queue requests and refusals by the client's
// class (configured, so bounded) and the refusing limit, and keeps the
// most-refused clients (topRefused) for a view that never labels more than
// topN clients.
type fairMetrics struct {
	requests *prometheus.CounterVec
	refusals *prometheus.CounterVec
	top      *topRefused
	// byClass and refusedBy are the counters of the configured classes,
	// looked up without hashing label values on every request.
	byClass   map[string]prometheus.Counter
	refusedBy map[string]map[domain.Limit]prometheus.Counter
}

func newFairMetrics(reg prometheus.Registerer, classes []string) (*fairMetrics, error) {
	m := &fairMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rps_fair_requests_total", Help: "POST /queue requests by the client's class.",
		}, []string{"class"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rps_fair_refusals_total", Help: "POST /queue requests refused (429) by the client's class and the limit that refused.",
		}, []string{"class", "limit"}),
		top:       newTopRefused(time.Now),
		byClass:   map[string]prometheus.Counter{},
		refusedBy: map[string]map[domain.Limit]prometheus.Counter{},
	}
	for _, class := range append([]string{domain.DefaultClass}, classes...) {
		m.byClass[class] = m.requests.WithLabelValues(class)
		m.refusedBy[class] = map[domain.Limit]prometheus.Counter{}
		for _, l := range limits {
			m.refusedBy[class][l] = m.refusals.WithLabelValues(class, string(l))
		}
	}
	var registered []prometheus.Collector
	for _, c := range []prometheus.Collector{m.requests, m.refusals, m.top} {
		if err := reg.Register(c); err != nil {
			for _, r := range registered { // all or nothing
				reg.Unregister(r)
			}
			return nil, fmt.Errorf("register fair-share metrics: %w", err)
		}
		registered = append(registered, c)
	}
	return m, nil
}

// observe counts one request of client that ended with err.
func (m *fairMetrics) observe(client domain.Client, err error) {
	class := client.ClassOf()
	if c, ok := m.byClass[class]; ok {
		c.Inc()
	} else {
		m.requests.WithLabelValues(class).Inc()
	}
	if !errors.Is(err, domain.ErrAtCapacity) {
		m.top.admitted(client.Key)
		return
	}
	limit := domain.LimitCapacity
	if r := (*domain.Refusal)(nil); errors.As(err, &r) && r != nil && slices.Contains(limits, r.Limit) {
		limit = r.Limit
	}
	if c, ok := m.refusedBy[class][limit]; ok {
		c.Inc()
	} else {
		m.refusals.WithLabelValues(class, string(limit)).Inc()
	}
	m.top.refused(client.Key, class)
}

// topRefused is a collector of rps_fair_top_refused_ratio: for each rank
// of the last minute's most-refused clients, the share of the client's
// requests refused, labelled by the client's key (an address, or a
// truncated hash of an API key; "anonymous" for none) and class. Ranks
// without a client are exported as 0 with empty labels, so the series
// exist before anyone is refused.
type topRefused struct {
	now  func() time.Time
	desc *prometheus.Desc
	cur  atomic.Pointer[tally]

	mu   sync.Mutex // rotation and last
	last []ranked
}

// tally counts the clients refused in one window.
type tally struct {
	start   time.Time
	tracked atomic.Int64
	clients sync.Map // key -> *clientCount
}

type clientCount struct {
	class             string
	requests, refused atomic.Int64
}

type ranked struct {
	key, class        string
	requests, refused int64
}

func newTopRefused(now func() time.Time) *topRefused {
	t := &topRefused{now: now, desc: prometheus.NewDesc("rps_fair_top_refused_ratio",
		"Share of the requests refused over the last minute, for the clients refused most (by rank, at most 10); ranks without a client are 0 with empty labels.",
		[]string{"rank", "client", "class"}, nil)}
	t.cur.Store(&tally{start: now()})
	return t
}

// admitted counts a request that was not refused, for a client already
// refused in this window; others are not looked at beyond a map read.
func (t *topRefused) admitted(key string) {
	if v, ok := t.cur.Load().clients.Load(key); ok {
		v.(*clientCount).requests.Add(1)
	}
}

// refused counts a refusal of the client key.
func (t *topRefused) refused(key, class string) {
	w := t.rotate()
	v, ok := w.clients.Load(key)
	if !ok {
		if w.tracked.Add(1) > topTracked {
			return
		}
		v, _ = w.clients.LoadOrStore(key, &clientCount{class: class})
	}
	c := v.(*clientCount)
	c.requests.Add(1)
	c.refused.Add(1)
}

// rotate starts a new window once the current one is topWindow old,
// keeping the old one's ranking, and returns the current window.
func (t *topRefused) rotate() *tally {
	now := t.now()
	w := t.cur.Load()
	if now.Sub(w.start) < topWindow {
		return w
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if w = t.cur.Load(); now.Sub(w.start) < topWindow {
		return w
	}
	t.last = rank(w)
	next := &tally{start: now}
	t.cur.Store(next)
	return next
}

// rank returns w's topN clients: most refusals first, then the higher
// share, then the key, so the order is stable.
func rank(w *tally) []ranked {
	var all []ranked
	w.clients.Range(func(k, v any) bool {
		c := v.(*clientCount)
		if n := c.requests.Load(); n >= topMinRequests {
			all = append(all, ranked{key: k.(string), class: c.class, requests: n, refused: c.refused.Load()})
		}
		return true
	})
	slices.SortFunc(all, func(a, b ranked) int {
		return cmp.Or(cmp.Compare(b.refused, a.refused),
			cmp.Compare(float64(b.refused)/float64(b.requests), float64(a.refused)/float64(a.requests)),
			cmp.Compare(a.key, b.key))
	})
	return all[:min(len(all), topN)]
}

// Describe implements prometheus.Collector.
func (t *topRefused) Describe(ch chan<- *prometheus.Desc) { ch <- t.desc }

// Collect implements prometheus.Collector: the last full window's ranking.
func (t *topRefused) Collect(ch chan<- prometheus.Metric) {
	t.rotate()
	t.mu.Lock()
	last := t.last
	t.mu.Unlock()
	for i := range topN {
		rankLabel := strconv.Itoa(i + 1)
		if i >= len(last) {
			ch <- prometheus.MustNewConstMetric(t.desc, prometheus.GaugeValue, 0, rankLabel, "", "")
			continue
		}
		r := last[i]
		client := r.key
		if client == "" {
			client = "anonymous"
		}
		ch <- prometheus.MustNewConstMetric(t.desc, prometheus.GaugeValue, float64(r.refused)/float64(r.requests), rankLabel, client, r.class)
	}
}
