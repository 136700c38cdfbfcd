package httpapi

import (
	"math"
	"strings"
	"time"

	"github.com/1000x-rps-server/rps-server/adapters/httpapi/problem"
	"github.com/1000x-rps-server/rps-server/domain"
)

// classPolicies are the RateLimit-Policy values of each class with a fixed
// limit (a ceiling, a rate), built once so a successful answer only looks
// one up. A class without either gets none: its share moves with the
// number of clients, which a 429 reports when it matters.
func classPolicies(p domain.SharePolicy) map[string][]string {
	out := map[string][]string{}
	if !p.Enabled {
		return out
	}
	for name, l := range p.Classes {
		var items []string
		if l.Ceiling > 0 {
			items = append(items, problem.PolicyItem(string(domain.LimitCeiling), l.Ceiling, 0))
		}
		if l.Rate > 0 {
			q, w := rateQuota(l.Rate)
			items = append(items, problem.PolicyItem(string(domain.LimitRate), q, w))
		}
		if len(items) > 0 {
			out[name] = []string{strings.Join(items, ", ")}
		}
	}
	return out
}

// rateQuota says a rate as whole requests per whole seconds, as the
// RateLimit fields need: 200/s is 200 per 1 s, 0.5/s is 1 per 2 s.
func rateQuota(rate float64) (q int, window time.Duration) {
	if rate >= 1 {
		return int(math.Round(rate)), time.Second
	}
	return 1, time.Duration(math.Round(1/rate)) * time.Second
}
