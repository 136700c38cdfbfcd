package domain

import (
	"fmt"
	"time"
)

// ClassLimits are one class's settings in the fair share. Zero values mean
// no limit of that kind.
type ClassLimits struct {
	// Weight scales the class's clients' shares: a client of weight 2 gets
	// twice the share of a client of weight 1 when both contend. At least 1.
	Weight int
	// Ceiling is the most slots one client of the class may hold at once,
	// contended or not; 0: no ceiling.
	Ceiling int
	// Rate is the requests per second one client of the class may start,
	// with Burst requests at once above it; 0: no rate limit.
	Rate  float64
	Burst int
	// Critical clients may use the capacity reserved for critical traffic
	// (SharePolicy.CriticalReserve); others never do.
	Critical bool
}

// SharePolicy is how a gate shares its capacity between clients.
type SharePolicy struct {
	// Enabled turns the share on; off, the gate only caps the total.
	Enabled bool
	// Classes are the configured classes by name; DefaultClass is always
	// present once the policy is built from config.
	Classes map[string]ClassLimits
	// Headroom is how many free slots a client at or above its share may
	// not take, kept for clients below theirs: the share is enforced
	// without preempting anyone, and a lone client still gets everything
	// (its share is the whole capacity).
	Headroom int
	// CriticalReserve is how many slots only critical classes may take.
	CriticalReserve int
	// ActiveWindow is how long a client counts as active (shares the
	// capacity) after its last request, and while it holds slots; 0 is
	// DefaultActiveWindow. Longer keeps the headroom for a paced client
	// between its requests; it never idles capacity, since a client over its
	// share still takes the slots beyond the headroom.
	ActiveWindow time.Duration
}

// DefaultActiveWindow is the active window of a policy that sets none:
// longer than a paced client's pause between two requests.
const DefaultActiveWindow = 5 * time.Second

// Window returns the policy's active window, DefaultActiveWindow when unset.
func (p SharePolicy) Window() time.Duration {
	if p.ActiveWindow <= 0 {
		return DefaultActiveWindow
	}
	return p.ActiveWindow
}

// LimitsOf returns class's limits, the default class's for a class the
// policy does not know.
func (p SharePolicy) LimitsOf(class string) ClassLimits {
	if l, ok := p.Classes[class]; ok {
		return l
	}
	if l, ok := p.Classes[DefaultClass]; ok {
		return l
	}
	return ClassLimits{Weight: 1}
}

// Validate refuses a policy a gate of capacity cannot apply: negative slot
// counts, or a reserve that leaves nothing to the other classes.
func (p SharePolicy) Validate(capacity int) error {
	switch {
	case !p.Enabled:
		return nil
	case p.Headroom < 0 || p.CriticalReserve < 0:
		return fmt.Errorf("fair share: headroom and critical reserve must not be negative (got %d, %d)", p.Headroom, p.CriticalReserve)
	case p.CriticalReserve >= capacity:
		return fmt.Errorf("fair share: the critical reserve (%d) must leave slots to the other classes (capacity %d)", p.CriticalReserve, capacity)
	}
	for name, l := range p.Classes {
		if l.Weight < 0 || l.Ceiling < 0 || l.Rate < 0 || l.Burst < 0 {
			return fmt.Errorf("fair share: class %q: weight, ceiling, rate and burst must not be negative", name)
		}
	}
	return nil
}
