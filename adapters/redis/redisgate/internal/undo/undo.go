// Package undo gives back, in the background, what gate calls abandoned
// during a Redis stall may have taken: one goroutine retries each
// undo until Redis answers or the lease it undoes has ended.
package undo

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/redis/rueidis"
)

// Bounds of the undoer. maxPendingUndos caps the ids waiting for Redis
// during an outage (beyond it the lease frees the slot); undoRetry spaces
// the attempts while Redis does not answer, so capacity is back well within
// a second of Redis resuming.
const (
	maxPendingUndos = 10_000
	undoRetry       = 100 * time.Millisecond
)

// Undoer gives back, in the background, the slots of acquires whose callers
// gave up on them: a command timeout during a stall or a caller's cancel may
// leave the script queued in Redis, and it runs when Redis resumes. Each id
// is retried until Redis answers or its lease ends. One goroutine does it
// all, so an outage never starts more; Close stops it.
type Undoer struct {
	cfg Config

	mu      sync.Mutex
	pending map[string]pendingUndo // id → what to undo
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
}

// pendingUndo is one undo waiting for Redis.
type pendingUndo struct {
	end   time.Time // when its lease ends and the undo is moot
	slots string    // a block take's slot count (undo.lua's ARGV[3]); "": a single slot id
}

// Config sets up an Undoer.
type Config struct {
	Client  rueidis.Client
	Script  *rueidis.Lua // undo.lua
	Keys    []string     // the gate key and its undone ids
	Lease   time.Duration
	LeaseMs string
	Timeout time.Duration // bounds each attempt
	OnDrop  func()        // an undo given up on: over the cap or past its lease
}

// New starts an Undoer; Close stops it.
func New(cfg Config) *Undoer {
	u := &Undoer{cfg: cfg, pending: make(map[string]pendingUndo)}
	u.wake, u.stop, u.done = make(chan struct{}, 1), make(chan struct{}), make(chan struct{})
	go u.run()
	return u
}

// Add queues id's undo. The acquire started at start, so its lease ends at
// the latest lease after it. slots > 0 makes id a block take's call id that
// asked for that many slots; 0, a slot id of its own (a request's, or a
// lease a block-mode instance failed to give back).
func (u *Undoer) Add(id string, slots int, start time.Time) {
	p := pendingUndo{end: start.Add(u.cfg.Lease)}
	if slots > 0 {
		p.slots = strconv.Itoa(slots)
	}
	u.mu.Lock()
	full := len(u.pending) >= maxPendingUndos
	if !full {
		u.pending[id] = p
	}
	u.mu.Unlock()
	if full {
		u.cfg.OnDrop()
		return
	}
	select {
	case u.wake <- struct{}{}:
	default:
	}
}

// Close stops the goroutine; undos still pending are left to their leases.
func (u *Undoer) Close() {
	close(u.stop)
	<-u.done
}

func (u *Undoer) run() {
	defer close(u.done)
	retry := time.NewTimer(undoRetry)
	defer retry.Stop()
	var retryC <-chan time.Time // nil while nothing is pending: no wake-ups when idle
	for {
		select {
		case <-u.stop:
			return
		case <-u.wake:
		case <-retryC:
		}
		if u.flush() > 0 {
			retry.Reset(undoRetry)
			retryC = retry.C
		} else {
			retryC = nil
		}
	}
}

// flush sends every pending undo in one pipeline, forgets those Redis
// answered and those whose lease has ended, and returns how many are left.
func (u *Undoer) flush() int {
	now := time.Now()
	u.mu.Lock()
	ids := make([]string, 0, len(u.pending))
	execs := make([]rueidis.LuaExec, 0, len(u.pending))
	for id, p := range u.pending {
		if now.After(p.end) {
			delete(u.pending, id)
			u.cfg.OnDrop()
			continue
		}
		args := []string{id, u.cfg.LeaseMs}
		if p.slots != "" {
			args = append(args, p.slots)
		}
		ids, execs = append(ids, id), append(execs, rueidis.LuaExec{Keys: u.cfg.Keys, Args: args})
	}
	u.mu.Unlock()
	if len(ids) == 0 {
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), u.cfg.Timeout)
	defer cancel()
	go func() { // Close must not wait out a stalled Redis
		select {
		case <-u.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	results := u.cfg.Script.ExecMulti(ctx, u.cfg.Client, execs...)
	u.mu.Lock()
	defer u.mu.Unlock()
	for i, res := range results {
		if res.Error() == nil {
			delete(u.pending, ids[i])
		}
	}
	return len(u.pending)
}

// MayHaveRun reports whether a failed call may still have reached Redis:
// anything but a failure to connect.
func MayHaveRun(err error) bool {
	var op *net.OpError
	return !errors.As(err, &op) || op.Op != "dial"
}
