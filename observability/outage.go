package observability

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Outage logs the start and the end of each outage of one dependency once
// at WARN, the end with its duration and how many requests it touched, so an
// operator sees an outage in two lines whatever the traffic; the failures in
// between are only counted (and logged per request at debug by the caller).
// The hot path, Up while nothing is wrong, is one atomic load.
type Outage struct {
	log      *slog.Logger
	what     string // e.g. "redis gate"
	countKey string // what the count is, e.g. "refused"
	down     atomic.Bool
	count    atomic.Int64
	mu       sync.Mutex // orders the start and end lines
	since    time.Time
	lastUp   atomic.Int64 // unix nanos of the last end of an outage
}

// NewOutage tracks the outages of what (e.g. "redis gate"); countKey names
// the requests counted during one (e.g. "refused", "admitted_without_slot").
func NewOutage(log *slog.Logger, what, countKey string) *Outage {
	return &Outage{log: log, what: what, countKey: countKey}
}

// Down records a failure of a call that started at started; counted says a
// request was touched by it (refused, or admitted without it). The first
// failure after Up logs the start of an outage, unless its call started
// before that Up: a straggler of the outage just ended (a call that waited
// out its timeout while the dependency came back) does not start another.
func (o *Outage) Down(started time.Time, err error, counted bool) {
	if o.down.Load() {
		if counted {
			o.count.Add(1)
		}
		return
	}
	if started.UnixNano() < o.lastUp.Load() {
		return
	}
	if counted {
		o.count.Add(1)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.down.Load() {
		return
	}
	o.since = time.Now()
	o.down.Store(true)
	o.log.Warn(o.what+" outage started", "err", err)
}

// Up records that the dependency answered; the first answer after Down logs
// the end of the outage with its duration and count.
func (o *Outage) Up() {
	if !o.down.Load() {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.down.Load() {
		return
	}
	o.down.Store(false)
	o.lastUp.Store(time.Now().UnixNano())
	o.log.Warn(o.what+" outage ended", "duration", time.Since(o.since).Round(time.Millisecond).String(),
		o.countKey, o.count.Swap(0))
}

// IsDown reports whether an outage is under way.
func (o *Outage) IsDown() bool { return o.down.Load() }
