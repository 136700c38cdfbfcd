package redisledger

// Queued is how many Record calls wait for the next pipeline.
func (l *Ledger) Queued() int { return l.commits.queued() }
