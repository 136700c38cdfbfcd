package pool

// Claim records that request id's slot serves client (weight|client, as
// fair.lua takes it), so that once the fair share decides in Redis
// (SetShared) the slot can be counted against that client.
func (p *Pool) Claim(id, client string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s := p.held[id]; s != nil {
		s.client = client
		p.unowned = p.unowned || p.shared
	}
}

// SetShared switches the pool for the fair share: while shared, every
// acquire is decided in Redis, so released and free slots go back to
// Redis rather than wait here.
func (p *Pool) SetShared(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.unowned = p.unowned || on && !p.shared
	p.shared = on
}

// Unowned returns, once after the pool went shared, the slots held here not
// yet counted against their clients, as member, client pairs, and marks
// them counted (they go back to Redis when released). It costs one pass
// over the held slots per switch, nothing otherwise.
func (p *Pool) Unowned() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.unowned {
		return nil
	}
	p.unowned = false
	var pairs []string
	for _, s := range p.held {
		if s != nil && !s.owned && !s.lost {
			s.owned = true
			pairs = append(pairs, s.member, s.client)
		}
	}
	return pairs
}

// Contended reports whether a take was refused lately, by any instance.
func (p *Pool) Contended() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.contended
}

// Holds reports whether request id holds a slot here.
func (p *Pool) Holds(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.held[id]
	return ok
}
