package redisledger

// Queued is how many Record calls wait for the next pipeline.
func (l *Ledger) Queued() int {
	c := l.commits
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.queue)
}
