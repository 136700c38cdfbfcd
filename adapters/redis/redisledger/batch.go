package redisledger

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/redis/rueidis"
)

// maxBatch bounds the records sent in one pipeline, so one flush stays short
// (a few hundred microseconds of Redis time) and its replies fit one read.
const maxBatch = 256

// errClosed fails the records still queued when the ledger closes.
var errClosed = errors.New("ledger closed")

// pending is one Record call waiting for its batch. done is buffered, so the
// flusher never waits for a caller that stopped listening.
type pending struct {
	key, value string
	ttl        time.Duration // how long the record lives
	queued     time.Time
	done       chan outcome
}

// outcome is a record's answer: earlier is the value stored before, empty
// when this call stored its own (fresh).
type outcome struct {
	earlier string
	fresh   bool
	err     error
}

// committer is a group commit: Record calls queue, and one flusher sends
// everything queued as one pipeline as soon as the previous one is back.
// A lone call therefore goes at once (no timer), and under load each
// pipeline carries the calls that arrived during the one before: one write
// and one read on each side instead of one per task.
type committer struct {
	client  rueidis.Client
	timeout time.Duration
	sizes   func(n int) // observes each batch's size
	// pendings recycles the pending of a call that got its answer (one
	// that gave up is left to the GC: its answer may still come).
	pendings sync.Pool

	mu     sync.Mutex
	queue  []*pending
	spare  []*pending // the previous batch, reused as the next queue
	closed bool

	wake   chan struct{} // cap 1: something was queued
	stop   chan struct{} // closed by close
	exited chan struct{} // closed when the flusher has answered everyone
}

func newCommitter(client rueidis.Client, timeout time.Duration, sizes func(int)) *committer {
	c := &committer{
		client: client, timeout: timeout, sizes: sizes,
		wake: make(chan struct{}, 1), stop: make(chan struct{}), exited: make(chan struct{}),
	}
	c.pendings.New = func() any { return &pending{done: make(chan outcome, 1)} }
	go c.run()
	return c
}

// add queues key=value, to live ttl, for the next flush; it fails once the
// ledger closed.
// Its answer comes on the pending's done within the command timeout of
// queued; once read, the pending goes back with release.
func (c *committer) add(key, value string, ttl time.Duration, queued time.Time) (*pending, error) {
	p, _ := c.pendings.Get().(*pending)
	p.key, p.value, p.ttl, p.queued = key, value, ttl, queued
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		c.release(p)
		return nil, errClosed
	}
	c.queue = append(c.queue, p)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default: // a wake-up is already due
	}
	return p, nil
}

// release recycles p once its answer was read.
func (c *committer) release(p *pending) {
	p.key, p.value = "", ""
	c.pendings.Put(p)
}

// run flushes until close (which fails what is still queued).
func (c *committer) run() {
	defer close(c.exited)
	for {
		select {
		case <-c.wake:
		case <-c.stop:
			return
		}
		for batch := c.take(); len(batch) > 0; batch = c.take() {
			c.flush(batch)
			c.recycle(batch)
		}
	}
}

// take removes up to maxBatch calls from the queue, oldest first.
func (c *committer) take() []*pending {
	c.mu.Lock()
	defer c.mu.Unlock()
	q := c.queue
	if len(q) <= maxBatch {
		c.queue, c.spare = c.spare[:0], nil
		return q
	}
	batch := c.spare[:0]
	batch = append(batch, q[:maxBatch]...)
	c.queue, c.spare = q[:copy(q, q[maxBatch:])], nil
	clear(q[len(c.queue):]) // drop the references to what was moved
	return batch
}

// recycle keeps a flushed batch's array for a later queue.
func (c *committer) recycle(batch []*pending) {
	clear(batch)
	c.mu.Lock()
	c.spare = batch[:0]
	c.mu.Unlock()
}

// flush sends batch as one pipeline of SET key value NX GET PX ttl and
// answers each call with its own reply. The pipeline must be back within
// the command timeout of its oldest call, so every call is answered within
// the command timeout of its own start (the ones queued behind a stalled
// pipeline fail at once) and a dead Redis fails every call instead of
// hanging. It depends on no caller's ctx: a caller that gives up does not
// fail the others.
func (c *committer) flush(batch []*pending) {
	c.sizes(len(batch))
	cmds := make(rueidis.Commands, len(batch))
	for i, p := range batch {
		cmds[i] = c.client.B().Set().Key(p.key).Value(p.value).Nx().Get().Px(p.ttl).Build()
	}
	ctx, cancel := context.WithDeadline(context.Background(), batch[0].queued.Add(c.timeout))
	defer cancel()
	for i, resp := range c.client.DoMulti(ctx, cmds...) {
		earlier, err := resp.ToString()
		switch {
		case rueidis.IsRedisNil(err):
			batch[i].done <- outcome{fresh: true}
		case err != nil:
			batch[i].done <- outcome{err: err}
		default:
			batch[i].done <- outcome{earlier: earlier}
		}
	}
}

// failQueued answers every call still queued with errClosed.
func (c *committer) failQueued() {
	c.mu.Lock()
	q := c.queue
	c.queue = nil
	c.mu.Unlock()
	for _, p := range q {
		p.done <- outcome{err: errClosed}
	}
}

// close stops taking calls, fails what is queued at once, lets a flush
// under way finish (it is bounded by the command timeout) and waits for the
// flusher to exit. Ledger.Close calls it once.
func (c *committer) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.failQueued()
	close(c.stop)
	<-c.exited
}
