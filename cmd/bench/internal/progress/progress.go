// Package progress shows a run as it goes: one line rewritten in place on a
// terminal, plain periodic lines otherwise (a log file, CI).
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/load"
)

// Printer writes the progress of a run. It is safe for concurrent use.
type Printer struct {
	mu       sync.Mutex
	w        io.Writer
	fd       int
	tty      bool
	every    time.Duration // plain mode: a line at most this often
	lastLine time.Time
	live     bool // a live line is on screen
	prefix   string
}

// New writes to f: a live line if f is a terminal, else a plain line at
// most every plainEvery.
func New(f *os.File, plainEvery time.Duration) *Printer {
	fd := int(f.Fd())
	return &Printer{w: f, fd: fd, tty: term.IsTerminal(fd), every: plainEvery}
}

// NewPlain writes plain lines to w at most every plainEvery.
func NewPlain(w io.Writer, plainEvery time.Duration) *Printer {
	return &Printer{w: w, fd: -1, every: plainEvery}
}

// SetPrefix sets what each line starts with, e.g. the sweep step.
func (p *Printer) SetPrefix(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.prefix = s
}

// Update shows the state after a history interval.
func (p *Printer) Update(l load.Live) {
	p.mu.Lock()
	defer p.mu.Unlock()
	line := p.prefix + Line(l)
	if !p.tty {
		if time.Since(p.lastLine) < p.every {
			return
		}
		p.lastLine = time.Now()
		_, _ = fmt.Fprintln(p.w, line)
		return
	}
	if width, _, err := term.GetSize(p.fd); err == nil && width > 1 && len(line) >= width {
		line = line[:width-1]
	}
	_, _ = fmt.Fprint(p.w, "\r\x1b[K"+line)
	p.live = true
}

// Printf prints a message on a line of its own, below the live line.
func (p *Printer) Printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.endLive()
	_, _ = fmt.Fprintf(p.w, format, args...)
	if !strings.HasSuffix(format, "\n") {
		_, _ = fmt.Fprintln(p.w)
	}
}

// Done ends the live line.
func (p *Printer) Done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.endLive()
}

func (p *Printer) endLive() {
	if p.live {
		_, _ = fmt.Fprintln(p.w)
		p.live = false
	}
}

// Line renders the state after an interval: elapsed of planned, phase, users,
// the interval's req/s and p99, and the run's totals of errors and 429s.
func Line(l load.Live) string {
	agg := l.Tick.Aggregated()
	elapsed := fmt.Sprintf("%.0fs/%.0fs", l.Tick.Elapsed.Seconds(), l.Planned.Seconds())
	return fmt.Sprintf("%9s %-7s users %-5d %8.0f req/s  p99 %7.1f ms  ok %-9d 429 %-7d errors %d",
		elapsed, l.Tick.Phase, l.Tick.Users,
		agg.RPS, agg.P99Ms, l.Totals.OK, l.Totals.Limited, l.Totals.Failures)
}
