// Package memgate is an in-memory ConcurrencyGate: one process's slots in a
// map. It serves tests and the embedded mode; it shares nothing across
// processes, so several instances would each admit the full capacity. It
// applies the fair share (domain.SharePolicy.Admit) exactly as the Redis
// gate does, over its own counts.
package memgate

import (
	"container/heap"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/ports"
)

// Gate holds at most capacity slots at once, shared between clients by its
// policy.
type Gate struct {
	capacity int
	policy   domain.SharePolicy
	window   time.Duration
	now      func() time.Time

	mu           sync.Mutex
	held         map[string]*client // slot id → the client holding it
	clients      map[string]*client // by key: active, holding, or rate-limited lately
	expiries     expiries           // clients by until: the next to look at first
	activeWeight int                // the sum of the active clients' weights
	levels       map[domain.Level]int
}

// client is one client's state: what it holds, whether it counts as
// active, and its rate's theoretical arrival time.
type client struct {
	key    string
	held   int
	level  domain.Level // the level it is counted at while it holds
	active bool
	weight int       // added to activeWeight while active
	until  time.Time // when to look at it again: its activity or its rate ends
	tat    time.Time
	index  int // in expiries
}

// Option changes a Gate at construction.
type Option func(*Gate)

// WithClock makes the gate read the time from now, for tests of the rate
// and of the active window.
func WithClock(now func() time.Time) Option { return func(g *Gate) { g.now = now } }

// New returns an empty gate of the given capacity that shares it by policy
// (a zero policy: the total alone is capped).
func New(capacity int, policy domain.SharePolicy, opts ...Option) (*Gate, error) {
	if capacity < 1 {
		return nil, fmt.Errorf("memgate: capacity must be at least 1 (got %d)", capacity)
	}
	if err := policy.Validate(capacity); err != nil {
		return nil, fmt.Errorf("memgate: %w", err)
	}
	g := &Gate{
		capacity: capacity, policy: policy, window: policy.Window(), now: time.Now,
		held: make(map[string]*client, capacity), clients: map[string]*client{}, levels: map[domain.Level]int{},
	}
	for _, o := range opts {
		o(g)
	}
	return g, nil
}

// Acquire implements ports.ConcurrencyGate: the rate first, then the share
// (domain.SharePolicy.Admit); a refusal is a *domain.Refusal.
func (g *Gate) Acquire(ctx context.Context, id string, who domain.Client) (ports.Slot, error) {
	if err := ctx.Err(); err != nil {
		return ports.Slot{}, fmt.Errorf("memgate: %w", err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.held[id]; ok {
		return ports.Slot{ID: id}, nil
	}
	if !g.policy.Enabled {
		if r := g.policy.Admit(domain.Usage{Capacity: g.capacity, Held: len(g.held)}, domain.ClassLimits{}); r != nil {
			return ports.Slot{}, r
		}
		g.held[id] = nil
		return ports.Slot{ID: id}, nil
	}
	now := g.now()
	g.expire(now)
	limits := g.policy.LimitsOf(who.ClassOf())
	c := g.clients[who.Key]
	var tat time.Time
	if c != nil {
		tat = c.tat
	}
	tat, retry, ok := limits.RateStep(tat, now)
	if !ok {
		return ports.Slot{}, limits.RateRefusal(retry)
	}
	if c == nil {
		c = &client{key: who.Key}
		g.clients[who.Key] = c
		heap.Push(&g.expiries, c)
	}
	if !c.active {
		c.active, c.weight = true, limits.WeightOrOne()
		g.activeWeight += c.weight
	}
	g.touch(c, now.Add(g.window))
	u := domain.Usage{Capacity: g.capacity, Held: len(g.held), ClientHeld: c.held, ActiveWeight: g.activeWeight}
	u.BelowShareHeld = g.policy.BelowShareHeld(u, g.levels)
	if r := g.policy.Admit(u, limits); r != nil {
		return ports.Slot{}, r
	}
	c.tat = tat
	g.touch(c, tat)
	if c.held == 0 {
		c.level = domain.LevelOf(limits, 0)
	}
	g.count(c, c.held+1)
	g.held[id] = c
	return ports.Slot{ID: id}, nil
}

// Release implements ports.ConcurrencyGate; releasing twice is harmless.
// The client stays active for the window after its last request.
func (g *Gate) Release(_ context.Context, slot ports.Slot) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c, ok := g.held[slot.ID]; ok {
		delete(g.held, slot.ID)
		if c != nil {
			g.count(c, c.held-1)
		}
	}
	return nil
}

// Ready implements ports.ConcurrencyGate: memory is always there.
func (g *Gate) Ready(context.Context) error { return nil }

// InUse returns how many slots are held now.
func (g *Gate) InUse() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.held)
}

// Clients returns how many clients the gate remembers (active, holding or
// rate-limited lately): memory that must be returned once they go.
func (g *Gate) Clients() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.expire(g.now())
	return len(g.clients)
}

// count sets how many slots c holds, and moves it to that level.
func (g *Gate) count(c *client, held int) {
	if c.held > 0 {
		if g.levels[c.level]--; g.levels[c.level] == 0 {
			delete(g.levels, c.level)
		}
	}
	c.held, c.level.Held = held, held
	if held > 0 {
		g.levels[c.level]++
	}
}

// touch moves c's next look to until, when that is later.
func (g *Gate) touch(c *client, until time.Time) {
	if until.After(c.until) {
		c.until = until
		heap.Fix(&g.expiries, c.index)
	}
}

// expire looks at the clients due by now: one still holding stays active
// for another window; another stops counting, and is forgotten once its
// rate's tat passed too. Each client is looked at about once per window, so
// the work is amortized over the requests.
func (g *Gate) expire(now time.Time) {
	for len(g.expiries) > 0 && !g.expiries[0].until.After(now) {
		c := g.expiries[0]
		switch {
		case c.held > 0:
			c.until = now.Add(g.window)
			heap.Fix(&g.expiries, 0)
			continue
		case c.active:
			c.active = false
			g.activeWeight -= c.weight
		}
		if c.tat.After(now) {
			c.until = c.tat
			heap.Fix(&g.expiries, 0)
			continue
		}
		heap.Pop(&g.expiries)
		delete(g.clients, c.key)
	}
}

// expiries is a min-heap of clients by until (container/heap).
type expiries []*client

func (e expiries) Len() int           { return len(e) }
func (e expiries) Less(i, j int) bool { return e[i].until.Before(e[j].until) }
func (e expiries) Swap(i, j int) {
	e[i], e[j] = e[j], e[i]
	e[i].index, e[j].index = i, j
}

func (e *expiries) Push(x any) {
	c := x.(*client) //nolint:forcetypeassert // only *client is ever pushed
	c.index = len(*e)
	*e = append(*e, c)
}

func (e *expiries) Pop() any {
	old := *e
	c := old[len(old)-1]
	old[len(old)-1] = nil
	*e = old[:len(old)-1]
	return c
}
