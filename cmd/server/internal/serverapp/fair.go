package serverapp

import (
	"fmt"
	"math"

	"github.com/1000x-rps-server/rps-server/adapters/httpapi"
	"github.com/1000x-rps-server/rps-server/configs"
	"github.com/1000x-rps-server/rps-server/domain"
)

// sharePolicy is the fair share of fair.* for the gates and the API: the
// fractions made slots of gate.capacity, every configured class with the
// default one among them. The gates enforce it; the API names its classes.
func sharePolicy(cfg configs.Config) (domain.SharePolicy, error) {
	classes, err := cfg.Fair.ParseClasses()
	if err != nil {
		return domain.SharePolicy{}, fmt.Errorf("fair.classes: %w", err)
	}
	p := domain.SharePolicy{
		Enabled:         cfg.Fair.Enabled,
		Classes:         make(map[string]domain.ClassLimits, len(classes)),
		Headroom:        slots(cfg.Fair.Headroom, cfg.Gate.Capacity),
		CriticalReserve: slots(cfg.Fair.CriticalReserve, cfg.Gate.Capacity),
	}
	// Never all of the capacity set aside: a lone client gets the rest.
	if over := p.Headroom + p.CriticalReserve - (cfg.Gate.Capacity - 1); over > 0 {
		p.Headroom = max(0, p.Headroom-over)
		p.CriticalReserve = min(p.CriticalReserve, cfg.Gate.Capacity-1)
	}
	for name, c := range classes {
		burst := c.Burst
		if c.Rate > 0 && burst == 0 {
			burst = max(1, int(math.Ceil(c.Rate))) // a second's worth
		}
		p.Classes[name] = domain.ClassLimits{Weight: c.Weight, Ceiling: c.Ceiling, Rate: c.Rate, Burst: burst, Critical: c.Critical}
	}
	return p, nil
}

// slots is fraction of capacity in whole slots, at least one when the
// fraction is not 0, so a small gate keeps what was asked for.
func slots(fraction float64, capacity int) int {
	if fraction <= 0 {
		return 0
	}
	return max(1, int(math.Round(fraction*float64(capacity))))
}

// clientsOf is how the API tells clients apart under policy: nobody when
// the share is off (every request is one anonymous client), else by
// address or by API key, whose hashes fair.keys maps to classes.
func clientsOf(cfg configs.Config, policy domain.SharePolicy) (httpapi.Clients, error) {
	if !policy.Enabled {
		return httpapi.Clients{Policy: policy}, nil
	}
	keys, err := cfg.Fair.ParseKeys()
	if err != nil {
		return httpapi.Clients{}, fmt.Errorf("fair.keys: %w", err)
	}
	by := httpapi.IdentityIP
	if cfg.Fair.Identity == configs.IdentityHeader {
		by = httpapi.IdentityHeader
	}
	return httpapi.Clients{By: by, Header: cfg.Fair.Header, IPv6Prefix: cfg.Fair.IPv6Prefix, Classes: keys, Policy: policy}, nil
}
