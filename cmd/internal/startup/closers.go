package startup

import (
	"context"
	"log/slog"
	"time"
)

// closeTimeout bounds each close at shutdown, so one hung dependency cannot
// keep the process from exiting.
const closeTimeout = 10 * time.Second

// Closers is what a binary opened and must close at exit, one rule for both
// binaries: the last opened closes first. What is opened later is built on
// what was opened before it (a consumer on its ledger, an admin listener on
// the consumer), so it must stop using it before it goes.
// The zero value is ready to use; it is not safe for concurrent use.
type Closers struct {
	closes []func(context.Context) error
}

// Add registers f, to run before every close added earlier. f gets a
// context that ends after closeTimeout; an error it returns is logged.
func (c *Closers) Add(f func(context.Context) error) {
	c.closes = append(c.closes, f)
}

// AddFunc registers a close f that takes no context and cannot fail.
func (c *Closers) AddFunc(f func()) {
	c.Add(func(context.Context) error { f(); return nil })
}

// Close runs every registered close, the last added first, logging the
// errors to log and going on. It forgets them, so a second Close does
// nothing.
func (c *Closers) Close(log *slog.Logger) {
	for i := len(c.closes) - 1; i >= 0; i-- {
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		if err := c.closes[i](ctx); err != nil {
			log.Warn("close", "err", err)
		}
		cancel()
	}
	c.closes = nil
}
