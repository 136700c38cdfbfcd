package infra

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Outcomes of one POST /queue as the open load counts them.
const (
	OutcomeOK          = "200"
	OutcomeRateLimited = "429"
	OutcomeUnavailable = "503"
	OutcomeTimeout     = "504"
	OutcomeOther       = "other" // any other status, or a transport error before the deadline
	OutcomeHang        = "hang"  // no answer within the load's deadline
)

var outcomes = []string{OutcomeOK, OutcomeRateLimited, OutcomeUnavailable, OutcomeTimeout, OutcomeOther, OutcomeHang}

// OpenLoadConfig is an open-loop load: a new POST /queue every 1/Rate,
// whatever the earlier ones got, so a stall shows as requests piling up
// instead of a slower client (closed loops hide it: coordinated omission).
type OpenLoadConfig struct {
	Bases    []string      // servers' base URLs (http://127.0.0.1:port), used round-robin
	Rate     int           // requests per second
	Duration time.Duration // stop sending after this long
	Max      int           // and after this many requests (0: Rate × Duration)
	// Deadline is how long one request may take before it counts as a
	// hang; it should be above the server's own request timeout.
	Deadline time.Duration
}

// OpenLoad is a running open-loop load. Mark events while it runs; Wait
// for its summary.
type OpenLoad struct {
	t      testing.TB
	cfg    OpenLoadConfig
	client *http.Client
	t0     time.Time
	stop   chan struct{}
	wg     sync.WaitGroup

	mu     sync.Mutex
	calls  []loadCall
	events []LoadEvent
}

// LoadEvent is a moment the test marked, e.g. "kill" or "restart".
type LoadEvent struct {
	Name string
	At   time.Time
}

type loadCall struct {
	start, end time.Time
	outcome    string
	code       string // gift code of a 200
	request    string // request_id of a 200
}

// LoadSummary is what the clients saw.
type LoadSummary struct {
	Sent     int
	Outcomes map[string]int // by Outcome*
	// FirstOKAfter is, per marked event, the time from the event to the
	// first 200 answering a request sent at or after it (absent: none).
	FirstOKAfter map[string]time.Duration
	MaxOK        time.Duration // longest 200
	// DuplicateCodes counts gift codes handed out more than once;
	// DuplicateRequests request ids answered more than once.
	DuplicateCodes, DuplicateRequests int
	Codes                             map[string]int // gift code → times seen
}

// StartOpenLoad starts sending; it refuses any address but loopback.
func StartOpenLoad(t testing.TB, cfg OpenLoadConfig) *OpenLoad {
	t.Helper()
	require.NotEmpty(t, cfg.Bases, "open load: no server")
	require.Positive(t, cfg.Rate, "open load: rate")
	require.Positive(t, cfg.Duration, "open load: duration")
	require.Positive(t, cfg.Deadline, "open load: deadline")
	for _, b := range cfg.Bases {
		u, err := url.Parse(b)
		require.NoError(t, err)
		ip := net.ParseIP(u.Hostname())
		require.True(t, ip != nil && ip.IsLoopback(), "open load only targets loopback, not %q", b)
	}
	if cfg.Max <= 0 {
		cfg.Max = int(float64(cfg.Rate) * cfg.Duration.Seconds())
	}
	inFlight := cfg.Rate*int(cfg.Deadline/time.Second+1) + 1 // every request hanging to its deadline
	l := &OpenLoad{
		t: t, cfg: cfg, t0: time.Now(), stop: make(chan struct{}),
		client: &http.Client{Timeout: cfg.Deadline, Transport: &http.Transport{MaxIdleConnsPerHost: inFlight}},
	}
	l.wg.Go(l.send)
	return l
}

// T0 is when the load started; the table counts seconds from it.
func (l *OpenLoad) T0() time.Time { return l.t0 }

// Mark records an event now and returns its time.
func (l *OpenLoad) Mark(name string) time.Time {
	now := time.Now()
	l.MarkAt(name, now)
	return now
}

// MarkAt records an event that happened at at.
func (l *OpenLoad) MarkAt(name string, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, LoadEvent{Name: name, At: at})
}

// Stop ends sending early; requests under way still finish.
func (l *OpenLoad) Stop() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
}

func (l *OpenLoad) send() {
	interval := time.Second / time.Duration(l.cfg.Rate)
	end := l.t0.Add(l.cfg.Duration)
	for i := range l.cfg.Max {
		next := l.t0.Add(time.Duration(i) * interval)
		if !next.Before(end) {
			return
		}
		select {
		case <-l.stop:
			return
		case <-time.After(time.Until(next)):
		}
		base := l.cfg.Bases[i%len(l.cfg.Bases)]
		l.wg.Go(func() { l.record(l.post(base)) })
	}
}

func (l *OpenLoad) record(c loadCall) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, c)
}

// post sends one POST /queue (a context of its own: Stop never cuts one
// short) and times it.
func (l *OpenLoad) post(base string) loadCall {
	c := l.do(base, time.Now())
	c.end = time.Now()
	return c
}

func (l *OpenLoad) do(base string, start time.Time) loadCall {
	c := loadCall{start: start}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, base+"/queue", nil)
	if err != nil {
		c.outcome = OutcomeOther
		return c
	}
	resp, err := l.client.Do(req)
	if err != nil {
		c.outcome = OutcomeOther
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			c.outcome = OutcomeHang
		}
		return c
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		var body struct {
			GiftCode  string `json:"gift_code"`
			RequestID string `json:"request_id"`
		}
		if json.NewDecoder(resp.Body).Decode(&body) != nil || body.GiftCode == "" {
			c.outcome = OutcomeOther // a 200 without a code is a defect, not a success
			break
		}
		c.outcome, c.code, c.request = OutcomeOK, body.GiftCode, body.RequestID
	case http.StatusTooManyRequests:
		c.outcome = OutcomeRateLimited
	case http.StatusServiceUnavailable:
		c.outcome = OutcomeUnavailable
	case http.StatusGatewayTimeout:
		c.outcome = OutcomeTimeout
	default:
		c.outcome = OutcomeOther
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return c
}

// Wait waits until sending has ended and every request is answered or past
// its deadline, logs the per-second table and returns the summary.
func (l *OpenLoad) Wait() LoadSummary {
	l.t.Helper()
	l.wg.Wait()
	l.client.CloseIdleConnections()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.t.Logf("open load, %d/s to %s; outcomes per second (by send time), events marked:\n%s",
		l.cfg.Rate, strings.Join(l.cfg.Bases, ","), l.table())
	s := l.summary()
	l.t.Logf("open load summary: sent %d, outcomes %v, first 200 after %v, max 200 latency %s, duplicate codes %d, duplicate request ids %d",
		s.Sent, s.Outcomes, s.FirstOKAfter, s.MaxOK.Round(time.Millisecond), s.DuplicateCodes, s.DuplicateRequests)
	return s
}

// Between counts outcomes of the requests sent in [from, to).
func (l *OpenLoad) Between(from, to time.Time) map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]int{}
	for _, c := range l.calls {
		if !c.start.Before(from) && c.start.Before(to) {
			out[c.outcome]++
		}
	}
	return out
}

func (l *OpenLoad) summary() LoadSummary {
	s := LoadSummary{Sent: len(l.calls), Outcomes: map[string]int{}, FirstOKAfter: map[string]time.Duration{}, Codes: map[string]int{}}
	requests := map[string]int{}
	for _, c := range l.calls {
		s.Outcomes[c.outcome]++
		if c.outcome != OutcomeOK {
			continue
		}
		s.MaxOK = max(s.MaxOK, c.end.Sub(c.start))
		s.Codes[c.code]++
		if s.Codes[c.code] > 1 {
			s.DuplicateCodes++
		}
		if c.request != "" {
			requests[c.request]++
			if requests[c.request] > 1 {
				s.DuplicateRequests++
			}
		}
	}
	for _, e := range l.events {
		var first time.Time
		for _, c := range l.calls {
			if c.outcome == OutcomeOK && !c.start.Before(e.At) && (first.IsZero() || c.end.Before(first)) {
				first = c.end
			}
		}
		if !first.IsZero() {
			s.FirstOKAfter[e.Name] = first.Sub(e.At)
		}
	}
	return s
}

// table is one row per second of send time: counts by outcome, the 200s'
// median and max latency, and the events of that second.
func (l *OpenLoad) table() string {
	type row struct {
		n  map[string]int
		ok []time.Duration
	}
	rows := map[int]*row{}
	last := 0
	for _, c := range l.calls {
		s := int(c.start.Sub(l.t0) / time.Second)
		if rows[s] == nil {
			rows[s] = &row{n: map[string]int{}}
		}
		rows[s].n[c.outcome]++
		if c.outcome == OutcomeOK {
			rows[s].ok = append(rows[s].ok, c.end.Sub(c.start))
		}
		last = max(last, s)
	}
	marks := map[int][]string{}
	for _, e := range l.events {
		s := int(e.At.Sub(l.t0) / time.Second)
		marks[s] = append(marks[s], fmt.Sprintf("%s@%.1fs", e.Name, e.At.Sub(l.t0).Seconds()))
		last = max(last, s)
	}
	var b strings.Builder
	b.WriteString("  t(s)")
	for _, o := range outcomes {
		fmt.Fprintf(&b, " %6s", o)
	}
	b.WriteString("  p50(200)  max(200)\n")
	for s := 0; s <= last; s++ {
		r := rows[s]
		if r == nil {
			r = &row{n: map[string]int{}}
		}
		fmt.Fprintf(&b, "  %4d", s)
		for _, o := range outcomes {
			fmt.Fprintf(&b, " %6d", r.n[o])
		}
		p50, top := "-", "-"
		if len(r.ok) > 0 {
			sort.Slice(r.ok, func(i, j int) bool { return r.ok[i] < r.ok[j] })
			p50 = r.ok[len(r.ok)/2].Round(time.Millisecond).String()
			top = r.ok[len(r.ok)-1].Round(time.Millisecond).String()
		}
		slices.Sort(marks[s])
		fmt.Fprintf(&b, "  %8s  %8s  %s\n", p50, top, strings.Join(marks[s], " "))
	}
	return b.String()
}
