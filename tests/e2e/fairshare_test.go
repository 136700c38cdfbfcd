package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fairClient is one client of the fair-share scenario: its connections
// dial from an address of its own, the identity the servers key the fair
// share on by default.
type fairClient struct {
	http *http.Client
	mu   sync.Mutex
	o    outcome
	// problems counts the 429s by problem type: which limit refused.
	problems map[string]int
}

func newFairClient(source string, conns int) *fairClient {
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(source)}}
	return &fairClient{
		http:     &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: conns}},
		o:        outcome{statuses: map[int]int{}, codes: map[string]int{}},
		problems: map[string]int{},
	}
}

// post sends POST /queue to base and tallies the answer.
func (c *fairClient) post(ctx context.Context, base string) {
	status, code, problem, err := c.send(ctx, base)
	if ctx.Err() != nil {
		return // the scenario is over: the request says nothing of the servers
	}
	c.o.add(status, code, err)
	if status == http.StatusTooManyRequests {
		c.mu.Lock()
		c.problems[problem]++
		c.mu.Unlock()
	}
}

func (c *fairClient) send(ctx context.Context, base string) (status int, code, problem string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/queue", http.NoBody)
	if err != nil {
		return 0, "", "", err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close()
	var body struct {
		GiftCode string `json:"gift_code"`
		Type     string `json:"type"`
	}
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, "", "", fmt.Errorf("read body: %w", err)
	}
	if json.Unmarshal(raw, &body) != nil && resp.StatusCode == http.StatusOK {
		return resp.StatusCode, "", "", fmt.Errorf("200 with a body that is not JSON: %q", raw)
	}
	return resp.StatusCode, body.GiftCode, body.Type, nil
}

// Three servers share one gate of 20 slots. A greedy client keeps 60
// connections busy from 127.0.0.1, pinned round-robin to the instances,
// while five polite clients send one request at a time, 50 ms apart, each
// from an address of its own (127.0.0.2 …), for 5 s, after a first request
// that introduces it (not counted: see below). Every polite client
// holds at most one slot, under its fair share (20 ÷ 6 clients), so the
// share rule admits it whatever the greedy client holds: the polite clients
// get 200 for at least 97 % of their requests (100 requests at least). At
// this size one refusal is 0.4 %: on a loaded machine a sync that runs late
// lets a block-mode instance serve the greedy client from its pool for a
// moment, and a polite request meeting that moment is refused; the bench
// (bench:fair, 10 polite clients, 20 s) holds the 99 % figure. Without the
// share the polite clients get about a third. The greedy client still gets 200s (the
// share is work-conserving), the gate never leases more than its capacity
// (ZCARD, sampled every 2 ms), and every 200 carries a code of its own.
func TestFairShare_PoliteClientsAreServedBesideAGreedyOne(t *testing.T) {
	const (
		capacity    = 20
		greedyConns = 60
		polite      = 5
		pace        = 50 * time.Millisecond
		duration    = 5 * time.Second
	)
	in := needInfra(t)
	// The headroom covers the polite clients asking at once (one slot
	// each): a client below its share gets a slot only while one is free.
	s := newStack(t, in, fmt.Sprintf("RPS_GATE__CAPACITY=%d", capacity), fmt.Sprintf("RPS_FAIR__HEADROOM=%g", float64(polite)/capacity))
	s.startWorker(t)
	bases := []string{s.startServer(t), s.startServer(t), s.startServer(t)}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	gate := sampleGate(t, in, s.gateKey)
	greedy := newFairClient("127.0.0.1", greedyConns)
	polites := make([]*fairClient, polite)
	introduced := make([]map[int]int, polite)
	end := time.Now().Add(duration)
	var wg sync.WaitGroup
	for c := range greedyConns {
		wg.Go(func() {
			for time.Now().Before(end) {
				greedy.post(ctx, bases[c%len(bases)])
			}
		})
	}
	for i := range polites {
		source := fmt.Sprintf("127.0.0.%d", 2+i)
		polites[i] = newFairClient(source, 1)
		wg.Go(func() {
			// A newcomer's first request meets a gate the greedy client,
			// alone until then, may hold whole: it is refused until the
			// newcomer counts as active. That one is the introduction.
			intro := newFairClient(source, 1)
			intro.post(ctx, bases[i%len(bases)])
			introduced[i] = intro.o.statuses
			for k := i; time.Now().Before(end); k++ {
				polites[i].post(ctx, bases[k%len(bases)])
				select {
				case <-ctx.Done():
					return
				case <-time.After(pace):
				}
			}
		})
	}
	wg.Wait()
	maxHeld := gate.finish()

	var ok, sent int
	for i, p := range polites {
		require.Empty(t, p.o.errors, "polite client %d: transport errors", i+1)
		assert.Zero(t, p.o.duplicates())
		assert.Len(t, p.o.codes, p.o.statuses[http.StatusOK], "every 200 carries a code")
		t.Logf("polite client 127.0.0.%d: first request %v, then %v, 429s by type %v", 2+i, introduced[i], p.o.statuses, p.problems)
		ok += p.o.statuses[http.StatusOK]
		sent += total(&p.o)
	}
	t.Logf("polite clients: %d of %d answered 200 (%.1f %%); greedy client: %v, 429s by type %v; most leases held %d of %d",
		ok, sent, 100*float64(ok)/float64(max(sent, 1)), greedy.o.statuses, greedy.problems, maxHeld, capacity)
	require.Empty(t, greedy.o.errors, "greedy client: transport errors")
	require.GreaterOrEqual(t, sent, 100, "the polite clients sent too little to judge")
	assert.GreaterOrEqual(t, float64(ok), 0.97*float64(sent), "the polite clients got 200 for under 97 % of their requests")
	assert.Positive(t, greedy.o.statuses[http.StatusOK], "the greedy client got no 200: the share is not work-conserving")
	assert.Equal(t, total(&greedy.o), greedy.o.statuses[http.StatusOK]+greedy.o.statuses[http.StatusTooManyRequests],
		"the greedy client gets 200 or 429 only: %v", greedy.o.statuses)
	assert.Len(t, greedy.o.codes, greedy.o.statuses[http.StatusOK], "every 200 carries a code")
	assert.Zero(t, greedy.o.duplicates())
	assert.LessOrEqual(t, maxHeld, int64(capacity), "the gate leased more than its capacity")
	gateDrains(t, in, s.gateKey, "the gate drains to 0")
}
