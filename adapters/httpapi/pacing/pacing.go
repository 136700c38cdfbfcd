// Package pacing holds back a keep-alive connection that ignores
// Retry-After: refused again before the Retry-After of its last refusal
// had passed, the server reads that connection's next request only once
// the new Retry-After has passed (at most a configured pause), and so after
// each of its refusals until it gets another answer. Every 429 itself goes
// out at once, whole.
//
// A client that honours Retry-After never notices, nor does one refused
// once (a pooled connection that another caller of the same client reuses
// at once). A flood (many connections, each sending again the moment it is
// refused) is slowed to one or two requests per connection per pause instead
// of as many as the CPU can answer, so the refusals stop eating the cores
// the admitted requests need. Refusing cheaply is not enough on its own:
// parsing, answering and the client itself cost far more than the gate's
// decision.
//
// Only HTTP/1.x connections straight from a client are held: a request that
// came through a proxy (X-Forwarded-For, Forwarded or Via, or from a peer
// the pacer is told to exempt) is not, because the proxy's connection
// carries other clients' requests next.
package pacing

import (
	"context"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Pacer holds back refused connections of one http.Server; see Install.
type Pacer struct {
	max    time.Duration
	onHold func()                   // called for each hold; never nil
	exempt func(*http.Request) bool // requests never held; never nil
	conns  sync.Map                 // net.Conn → *conn, from ConnContext until the connection ends
	stop   chan struct{}
	once   sync.Once
}

// conn is one connection's pause. An HTTP/1.x connection serves one request
// at a time, in one goroutine, so its fields change hands only there; they
// are atomic so that nothing else ever races on them.
type conn struct {
	p     *Pacer
	until atomic.Int64 // when the next request may be read, Unix ns; 0: not held
	// waitEnd is when the Retry-After of the connection's last refusal
	// ends, Unix ns: a refusal before it means that one was ignored.
	waitEnd atomic.Int64
	// ignoring: the connection ignored a Retry-After and has had nothing
	// but refusals since; each of them holds it (so an answer that set no
	// hold ends it).
	ignoring atomic.Bool
}

// ctxKey finds a request's *conn in its context.
type ctxKey struct{}

// New returns a pacer that holds a refused connection for the refusal's
// Retry-After, at most maxPause, calling onHold (if not nil) for each hold,
// e.g. to count them, and never holding a request exempt (if not nil)
// names, e.g. one from a known proxy. maxPause ≤ 0 holds nothing.
func New(maxPause time.Duration, onHold func(), exempt func(*http.Request) bool) *Pacer {
	if onHold == nil {
		onHold = func() {}
	}
	if exempt == nil {
		exempt = func(*http.Request) bool { return false }
	}
	return &Pacer{max: maxPause, onHold: onHold, exempt: exempt, stop: make(chan struct{})}
}

// Install makes srv hold refused connections, keeping any ConnContext and
// ConnState srv already has, and stops holding when srv shuts down. Call it
// before srv serves; call Stop after a Close (Shutdown stops it itself).
func (p *Pacer) Install(srv *http.Server) {
	if p.max <= 0 {
		return
	}
	prevCtx, prevState := srv.ConnContext, srv.ConnState
	srv.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		if prevCtx != nil {
			ctx = prevCtx(ctx, c)
		}
		cs := &conn{p: p}
		p.conns.Store(c, cs)
		return context.WithValue(ctx, ctxKey{}, cs)
	}
	srv.ConnState = func(c net.Conn, s http.ConnState) {
		if prevState != nil {
			prevState(c, s)
		}
		p.connState(c, s)
	}
	srv.RegisterOnShutdown(p.Stop)
}

// connState runs in the connection's own goroutine: at StateIdle the answer
// has been written out whole and the next request is not read yet, so
// waiting here delays only that read.
func (p *Pacer) connState(c net.Conn, s http.ConnState) {
	switch s {
	case http.StateIdle:
		v, ok := p.conns.Load(c)
		if !ok {
			return
		}
		cs := v.(*conn) //nolint:forcetypeassert // only *conn is stored
		until := cs.until.Swap(0)
		if until == 0 {
			cs.ignoring.Store(false) // not held: an answer other than a refusal, or a first one
			return
		}
		if d := time.Until(time.Unix(0, until)); d > 0 {
			p.wait(d)
		}
	case http.StateClosed, http.StateHijacked:
		p.conns.Delete(c)
	default:
	}
}

// wait sleeps for d or until the pacer stops.
func (p *Pacer) wait(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-p.stop:
	}
}

// Stop ends every hold at once and holds nothing from now on, so a
// shutdown never waits for a pause. Safe to call more than once.
func (p *Pacer) Stop() {
	p.once.Do(func() { close(p.stop) })
}

// stopped reports whether Stop was called.
func (p *Pacer) stopped() bool {
	select {
	case <-p.stop:
		return true
	default:
		return false
	}
}

// Refused tells the pacer that r was refused with retryAfter. When r's
// connection was refused before and r came before that refusal's
// Retry-After had passed, or when it did so earlier and has had only
// refusals since, the connection's next request is read only after
// retryAfter (at most the pacer's pause). It does nothing for a request
// whose connection no pacer watches, that is not HTTP/1.x, that closes its
// connection anyway, or that came through a proxy (or is exempt).
func Refused(r *http.Request, retryAfter time.Duration) {
	cs, ok := r.Context().Value(ctxKey{}).(*conn)
	if !ok || retryAfter <= 0 || r.ProtoMajor != 1 || r.Close || forwarded(r.Header) || cs.p.exempt(r) || cs.p.stopped() {
		return
	}
	now := time.Now()
	early := now.UnixNano() < cs.waitEnd.Swap(now.Add(retryAfter).UnixNano())
	if early || cs.ignoring.Load() {
		cs.ignoring.Store(true)
		cs.until.Store(now.Add(spread(min(retryAfter, cs.p.max))).UnixNano())
		cs.p.onHold()
	}
}

// spread is a hold of d drawn from [d/2, d]: connections of a flood,
// refused together, would otherwise all come back together, a burst every
// d that the admitted requests queue behind.
func spread(d time.Duration) time.Duration {
	if d < 2 {
		return d
	}
	return d - rand.N(d/2) //nolint:gosec // jitter, not a secret
}

// forwarded reports whether a proxy passed the request on.
func forwarded(h http.Header) bool {
	return len(h["X-Forwarded-For"]) > 0 || len(h["Forwarded"]) > 0 || len(h["Via"]) > 0
}
