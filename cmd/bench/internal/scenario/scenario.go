// Package scenario names the requests a simulated user sends and the weights
// by which it picks them, as Locust's @task(weight) does.
package scenario

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Route is one kind of request a user sends.
type Route struct {
	Key    string // the name used in -weights
	Method string
	Path   string
	// WantGiftCode is true when a 200 must carry a gift code (POST /queue).
	WantGiftCode bool
}

// Name is the route as Locust names it in its CSVs: the path.
func (r Route) Name() string { return r.Path }

// Known routes, by the key used in -weights.
var known = map[string]Route{
	"queue": {Key: "queue", Method: http.MethodPost, Path: "/queue", WantGiftCode: true},
	"root":  {Key: "root", Method: http.MethodGet, Path: "/"},
}

// Mix is a set of routes with integer weights; its zero value picks nothing.
type Mix struct {
	routes []Route
	cum    []int // cumulative weights, same order as routes
}

// ErrBadWeights is wrapped by every error of ParseWeights.
var ErrBadWeights = errors.New("bad -weights")

// ParseWeights reads "queue=3,root=1": known route keys with non-negative
// integer weights, at least one of them above zero. Routes of weight 0 are
// left out.
func ParseWeights(s string) (Mix, error) {
	var m Mix
	seen := map[string]bool{}
	total := 0
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		key, val, ok := strings.Cut(part, "=")
		key = strings.TrimSpace(key)
		if !ok {
			return Mix{}, fmt.Errorf("%w: %q is not route=weight", ErrBadWeights, part)
		}
		r, ok := known[key]
		if !ok {
			return Mix{}, fmt.Errorf("%w: unknown route %q (known: %s)", ErrBadWeights, key, strings.Join(Keys(), ", "))
		}
		if seen[key] {
			return Mix{}, fmt.Errorf("%w: route %q given twice", ErrBadWeights, key)
		}
		seen[key] = true
		w, err := strconv.Atoi(strings.TrimSpace(val))
		if err != nil || w < 0 {
			return Mix{}, fmt.Errorf("%w: weight of %q must be a whole number ≥ 0, got %q", ErrBadWeights, key, val)
		}
		if w == 0 {
			continue
		}
		total += w
		m.routes = append(m.routes, r)
		m.cum = append(m.cum, total)
	}
	if total == 0 {
		return Mix{}, fmt.Errorf("%w: %q gives no route a weight above 0", ErrBadWeights, s)
	}
	return m, nil
}

// Keys lists the known route keys, sorted.
func Keys() []string {
	keys := make([]string, 0, len(known))
	for k := range known {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Routes returns the routes of the mix, in the order they were given.
func (m Mix) Routes() []Route { return m.routes }

// Weight returns the weight of the i-th route.
func (m Mix) Weight(i int) int {
	if i == 0 {
		return m.cum[0]
	}
	return m.cum[i] - m.cum[i-1]
}

// Pick returns the index of a route, chosen with probability proportional to
// its weight.
func (m Mix) Pick(r *rand.Rand) int {
	n := r.IntN(m.cum[len(m.cum)-1])
	for i, c := range m.cum {
		if n < c {
			return i
		}
	}
	return len(m.cum) - 1
}

// String renders the mix back as route=weight pairs.
func (m Mix) String() string {
	parts := make([]string, len(m.routes))
	for i, r := range m.routes {
		parts[i] = r.Key + "=" + strconv.Itoa(m.Weight(i))
	}
	return strings.Join(parts, ",")
}
