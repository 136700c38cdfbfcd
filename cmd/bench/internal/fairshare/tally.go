package fairshare

import (
	"maps"
	"sync"
)

// Tally counts one client's (or one group's) answers.
type Tally struct {
	Requests int64 `json:"requests"`
	OK       int64 `json:"ok"` // 200 with a gift code
	// Statuses counts answers by HTTP status; "net" counts requests that
	// got none.
	Statuses map[string]int64 `json:"statuses"`
	// Problems counts the 429s by their problem type: which limit refused.
	Problems   map[string]int64 `json:"problems_429,omitempty"`
	NetErrors  map[string]int64 `json:"net_errors,omitempty"`
	BadAnswers int64            `json:"bad_answers"` // 200 without a gift code
}

func newTally() Tally {
	return Tally{Statuses: map[string]int64{}, Problems: map[string]int64{}, NetErrors: map[string]int64{}}
}

func (t *Tally) add(a answer) {
	t.Requests++
	t.Statuses[statusKey(a)]++
	switch {
	case a.netErr != "":
		t.NetErrors[a.netErr]++
	case a.status == 200 && a.bad:
		t.BadAnswers++
	case a.status == 200:
		t.OK++
	case a.problem != "":
		t.Problems[a.problem]++
	}
}

// merge adds o's counts to t.
func (t *Tally) merge(o Tally) {
	t.Requests += o.Requests
	t.OK += o.OK
	t.BadAnswers += o.BadAnswers
	for _, p := range []struct{ to, from map[string]int64 }{{t.Statuses, o.Statuses}, {t.Problems, o.Problems}, {t.NetErrors, o.NetErrors}} {
		for k, v := range p.from {
			p.to[k] += v
		}
	}
}

// OKShare is the fraction of requests answered 200 with a code; 0 without
// requests.
func (t Tally) OKShare() float64 {
	if t.Requests == 0 {
		return 0
	}
	return float64(t.OK) / float64(t.Requests)
}

// counter is a Tally shared by goroutines.
type counter struct {
	mu sync.Mutex
	t  Tally
}

func newCounter() *counter { return &counter{t: newTally()} }

func (c *counter) add(a answer) {
	c.mu.Lock()
	c.t.add(a)
	c.mu.Unlock()
}

// snapshot copies the counts.
func (c *counter) snapshot() Tally {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.t
	t.Statuses, t.Problems, t.NetErrors = maps.Clone(t.Statuses), maps.Clone(t.Problems), maps.Clone(t.NetErrors)
	return t
}
