// Package memgate is an in-memory ConcurrencyGate: one process's slots in a
// map. It serves tests and the embedded mode; it shares nothing across
// processes, so several instances would each admit the full capacity.
package memgate

import (
	"context"
	"fmt"
	"sync"

	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/ports"
)

// Gate holds at most capacity slots at once.
type Gate struct {
	capacity int
	mu       sync.Mutex
	held     map[string]struct{}
}

// New returns an empty gate of the given capacity.
func New(capacity int) (*Gate, error) {
	if capacity < 1 {
		return nil, fmt.Errorf("memgate: capacity must be at least 1 (got %d)", capacity)
	}
	return &Gate{capacity: capacity, held: make(map[string]struct{}, capacity)}, nil
}

// Acquire implements ports.ConcurrencyGate.
func (g *Gate) Acquire(ctx context.Context, id string, _ domain.Client) (ports.Slot, error) {
	if err := ctx.Err(); err != nil {
		return ports.Slot{}, fmt.Errorf("memgate: %w", err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.held[id]; !ok {
		if len(g.held) >= g.capacity {
			return ports.Slot{}, domain.ErrAtCapacity
		}
		g.held[id] = struct{}{}
	}
	return ports.Slot{ID: id}, nil
}

// Release implements ports.ConcurrencyGate; releasing twice is harmless.
func (g *Gate) Release(_ context.Context, slot ports.Slot) error {
	g.mu.Lock()
	delete(g.held, slot.ID)
	g.mu.Unlock()
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
