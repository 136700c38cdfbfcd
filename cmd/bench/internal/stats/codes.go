package stats

import "sync"

// maxSamples bounds how many duplicate codes are kept to show in the summary.
const maxSamples = 10

// Codes remembers every gift code handed out during a run (warm-up included)
// to find duplicates: the service promises never to hand out a code twice.
type Codes struct {
	mu      sync.Mutex
	seen    map[string]struct{}
	dups    int64
	samples []string
}

// NewCodes returns an empty set.
func NewCodes() *Codes { return &Codes{seen: make(map[string]struct{}, 1<<16)} }

// Add records code and reports whether it had been seen before.
func (c *Codes) Add(code string) (duplicate bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.seen[code]; ok {
		c.dups++
		if len(c.samples) < maxSamples {
			c.samples = append(c.samples, code)
		}
		return true
	}
	c.seen[code] = struct{}{}
	return false
}

// CodeCheck is what Codes found.
type CodeCheck struct {
	Unique     int64    `json:"unique_codes"`
	Duplicates int64    `json:"duplicate_codes"`
	Samples    []string `json:"duplicate_samples,omitempty"`
}

// Check returns the counts so far.
func (c *Codes) Check() CodeCheck {
	c.mu.Lock()
	defer c.mu.Unlock()
	return CodeCheck{Unique: int64(len(c.seen)), Duplicates: c.dups, Samples: append([]string(nil), c.samples...)}
}
