package fairshare

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const fairShareType = "https://example.test/problems/fair-share"

// fakeServer plays one instance: it refuses the greedy address with a
// fair-share 429, serves everyone else, and shows its requests in flight
// as rps_gate_slots_in_use.
type fakeServer struct {
	*httptest.Server
	inFlight atomic.Int64
	mu       sync.Mutex
	sources  map[string]int
}

func newFakeServer(t *testing.T, greedy string, capacity int) *fakeServer {
	t.Helper()
	f := &fakeServer{sources: map[string]int{}}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/metrics":
			_, _ = fmt.Fprintf(w, "# HELP rps_gate_slots_in_use x\nrps_gate_slots_in_use %d\nrps_gate_slots_leased %d\n"+
				"rps_gate_acquires_total{outcome=\"ok\"} 12\nrps_gate_capacity %d\n", f.inFlight.Load(), f.inFlight.Load()+1, capacity)
		case "/queue":
			f.inFlight.Add(1)
			defer f.inFlight.Add(-1)
			host, _, _ := net.SplitHostPort(r.RemoteAddr)
			f.mu.Lock()
			f.sources[host]++
			f.mu.Unlock()
			time.Sleep(time.Millisecond)
			if host == greedy {
				w.Header().Set("Content-Type", "application/problem+json")
				w.WriteHeader(http.StatusTooManyRequests)
				_, _ = fmt.Fprintf(w, `{"type":%q,"status":429}`, fairShareType)
				return
			}
			_, _ = fmt.Fprint(w, `{"gift_code":"GIFT-1"}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeServer) seen(source string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sources[source]
}

// fakeRedis answers AUTH, SELECT and ZCARD (with zcard) and records the
// commands it got.
type fakeRedis struct {
	addr  string
	mu    sync.Mutex
	cmds  []string
	ln    net.Listener
	wg    sync.WaitGroup
	zcard int
}

func newFakeRedis(t *testing.T, zcard int) *fakeRedis {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	f := &fakeRedis{addr: ln.Addr().String(), ln: ln, zcard: zcard}
	f.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.wg.Go(func() { f.serve(c) })
		}
	})
	t.Cleanup(func() { _ = ln.Close(); f.wg.Wait() })
	return f
}

func (f *fakeRedis) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		n, _ := strconv.Atoi(strings.TrimSpace(line[1:]))
		args := make([]string, n)
		for i := range args {
			if _, err := r.ReadString('\n'); err != nil { // $len
				return
			}
			v, err := r.ReadString('\n')
			if err != nil {
				return
			}
			args[i] = strings.TrimRight(v, "\r\n")
		}
		f.mu.Lock()
		f.cmds = append(f.cmds, strings.Join(args, " "))
		f.mu.Unlock()
		reply := "+OK\r\n"
		if args[0] == "ZCARD" {
			reply = fmt.Sprintf(":%d\r\n", f.zcard)
		}
		if _, err := c.Write([]byte(reply)); err != nil {
			return
		}
	}
	// A closed listener ends serve through a read error on its next command.
}

func (f *fakeRedis) commands() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.cmds...)
}

func shareConfig(bases ...string) Config {
	return Config{
		Bases: bases, GreedyConns: 4, GreedySource: net.IPv4(127, 0, 0, 1),
		Polite: 3, PoliteSource: net.IPv4(127, 0, 0, 2), PaceMin: time.Millisecond, PaceMax: 3 * time.Millisecond,
		Warmup: 50 * time.Millisecond, Duration: 400 * time.Millisecond, MaxRequests: 1_000_000,
		Timeout: 2 * time.Second, SampleEvery: 5 * time.Millisecond,
	}
}

// Each client dials from its own address, so the server tells them apart:
// the polite clients' 200s and the greedy client's 429s are counted apart,
// the 429s by their problem type, and the gate is read from every instance
// and from Redis.
func TestRun_CountsEachClientByItsOwnAddress(t *testing.T) {
	a, b := newFakeServer(t, "127.0.0.1", 10), newFakeServer(t, "127.0.0.1", 10)
	redis := newFakeRedis(t, 7)
	cfg := shareConfig(a.URL, b.URL)
	var err error
	cfg.Redis, err = ParseRedisURL("redis://:secret@"+redis.addr+"/3", "{rps}:gate")
	require.NoError(t, err)

	res, err := Run(context.Background(), cfg)
	require.NoError(t, err)

	assert.InDelta(t, 0.4, res.MeasuredS, 0.05)
	require.Positive(t, res.Polite.Requests)
	assert.Equal(t, res.Polite.Requests, res.Polite.OK, "every polite request got a 200: %+v", res.Polite)
	assert.InDelta(t, 1.0, res.Polite.OKShare(), 1e-9)
	require.Positive(t, res.Greedy.Requests)
	assert.Zero(t, res.Greedy.OK)
	assert.Equal(t, map[string]int64{fairShareType: res.Greedy.Requests}, res.Greedy.Problems)
	assert.InDelta(t, 0.0, res.GreedyShareOfOK(), 1e-9)
	require.Len(t, res.PoliteClients, 3)
	for i, c := range res.PoliteClients {
		src := fmt.Sprintf("127.0.0.%d", i+2)
		assert.Equal(t, src, c.Source)
		assert.Positive(t, c.Requests, "polite client %s sent nothing", src)
		assert.Positive(t, a.seen(src)+b.seen(src), "no server saw %s", src)
	}
	assert.Positive(t, a.seen("127.0.0.1"), "the greedy connections reach every instance")
	assert.Positive(t, b.seen("127.0.0.1"))

	g := res.Gate
	assert.Equal(t, 10, g.Capacity)
	assert.Positive(t, g.Samples)
	assert.Positive(t, g.MaxInUse)
	assert.LessOrEqual(t, g.MaxInUse, 4+3, "never more in flight than the clients send")
	assert.InDelta(t, g.MeanInUse/10, g.Utilisation, 1e-9)
	require.NotNil(t, g.ZCard)
	assert.Equal(t, int64(7), g.ZCard.Max)
	assert.InDelta(t, 7.0, g.ZCard.Mean, 1e-9)
	assert.Zero(t, g.ZCard.Errors)
	cmds := redis.commands()
	require.GreaterOrEqual(t, len(cmds), 3)
	assert.Equal(t, []string{"AUTH secret", "SELECT 3", "ZCARD {rps}:gate"}, cmds[:3])
}

// -max-requests bounds the run whatever its duration.
func TestRun_StopsAtMaxRequests(t *testing.T) {
	srv := newFakeServer(t, "none", 10)
	cfg := shareConfig(srv.URL)
	cfg.Warmup, cfg.Duration, cfg.MaxRequests = 0, 10*time.Second, 40
	start := time.Now()
	res, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	assert.Less(t, time.Since(start), 5*time.Second, "the bound ends the run")
	assert.LessOrEqual(t, res.Greedy.Requests+res.Polite.Requests, int64(40))
}

// The lone client alternates between the two deployments and measures
// both for the same time.
func TestRunAB_MeasuresBothSidesAlike(t *testing.T) {
	on, off := newFakeServer(t, "none", 10), newFakeServer(t, "none", 10)
	res, err := RunAB(context.Background(), ABConfig{
		On: []string{on.URL}, Off: []string{off.URL}, Conns: 3, Source: net.IPv4(127, 0, 0, 1),
		Slices: 2, Warmup: 40 * time.Millisecond, Duration: 200 * time.Millisecond, MaxRequests: 1_000_000, Timeout: time.Second,
	})
	require.NoError(t, err)
	for _, s := range []Side{res.On, res.Off} {
		assert.InDelta(t, 0.2, s.MeasuredS, 0.03)
		require.Positive(t, s.OK)
		assert.Equal(t, s.Requests, s.OK)
		assert.InDelta(t, float64(s.OK)/s.MeasuredS, s.OKPerSec, 1e-6)
	}
	assert.InDelta(t, res.On.OKPerSec/res.Off.OKPerSec, res.Ratio, 1e-9)
	assert.Positive(t, on.seen("127.0.0.1"))
	assert.Positive(t, off.seen("127.0.0.1"))
}

func TestParseRedisURL(t *testing.T) {
	p, err := ParseRedisURL("redis://127.0.0.1:20379/0", "{rps}:gate")
	require.NoError(t, err)
	assert.Equal(t, RedisProbe{Addr: "127.0.0.1:20379", Key: "{rps}:gate"}, *p)
	p, err = ParseRedisURL("redis://user:pw@localhost", "k")
	require.NoError(t, err)
	assert.Equal(t, RedisProbe{Addr: "localhost:6379", Username: "user", Password: "pw", Key: "k"}, *p)
	for _, bad := range []string{"rediss://127.0.0.1:6379", "redis://127.0.0.1:6379/x", "http://127.0.0.1"} {
		_, err := ParseRedisURL(bad, "k")
		assert.Error(t, err, bad)
	}
	_, err = ParseRedisURL("redis://127.0.0.1:6379", "")
	assert.Error(t, err, "no key")
}

func TestParseGauges_ReadsUnlabelledSamplesOnly(t *testing.T) {
	page := "# HELP rps_gate_slots_in_use x\n# TYPE rps_gate_slots_in_use gauge\nrps_gate_slots_in_use 42\n" +
		"rps_gate_slots_in_use_total 9\nrps_gate_capacity{a=\"b\"} 3\nrps_gate_capacity 100 1700000000\n"
	got, err := parseGauges(strings.NewReader(page), metricInUse, metricCapacity, metricLeased)
	require.NoError(t, err)
	assert.Equal(t, map[string]float64{metricInUse: 42, metricCapacity: 100}, got)
}

func TestSources(t *testing.T) {
	got, err := Sources(net.ParseIP("127.0.0.2"), 3)
	require.NoError(t, err)
	assert.Equal(t, "[127.0.0.2 127.0.0.3 127.0.0.4]", fmt.Sprint(got))
	_, err = Sources(net.ParseIP("127.0.0.250"), 10)
	assert.Error(t, err, "past .254")
	_, err = Sources(net.ParseIP("::1"), 1)
	assert.Error(t, err, "IPv6")
}

func TestWriteTable_ShowsTheFigures(t *testing.T) {
	r := Result{
		MeasuredS: 20,
		Greedy:    Tally{Requests: 300, OK: 200, Statuses: map[string]int64{"200": 200, "429": 100}, Problems: map[string]int64{fairShareType: 100}},
		Polite:    Tally{Requests: 100, OK: 99, Statuses: map[string]int64{"200": 99, "429": 1}, Problems: map[string]int64{"about:blank": 1}},
		PoliteClients: []ClientTally{
			{Source: "127.0.0.2", Tally: Tally{Requests: 50, OK: 50}},
			{Source: "127.0.0.3", Tally: Tally{Requests: 50, OK: 49}},
		},
		Gate: GateUse{Capacity: 100, Samples: 10, MeanInUse: 95, Utilisation: 0.95, MaxInUse: 100, ZCard: &ZCardUse{Key: "{rps}:gate", Samples: 5, Max: 100, Mean: 97}},
	}
	var b strings.Builder
	require.NoError(t, WriteTable(&b, r))
	out := b.String()
	for _, want := range []string{
		"| polite clients: 200s / requests | 99.0 % (99 / 100) |",
		"| worst polite client: 200s / requests | 98.0 % (127.0.0.3: 49 / 50) |",
		"| greedy client: 200/s | 10.0 |",
		"| greedy client: share of all 200s | 66.9 % |",
		"| gate utilisation (mean Σ slots in use ÷ capacity) | 95.0 % (95.0 of 100, 10 samples) |",
		"ZCARD {rps}:gate, one instant: the cap) / capacity | 100 / 100 (mean 97.0, 5 samples) |",
		"| 429s of the greedy client, by problem type | " + fairShareType + ": 100 |",
	} {
		assert.Contains(t, out, want)
	}
}
