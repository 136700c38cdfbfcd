package problem

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/1000x-rps-server/rps-server/domain"
)

// TypeBase starts the problem type of each limit that refuses a request
// (429): the type is TypeBase + the limit's name ("capacity", "fair-share",
// "client-ceiling", "rate"), a page that explains the limit and how to
// pace oneself.
const TypeBase = "https://github.com/1000x-rps-server/rps-server/blob/main/docs/fair-share.md#"

// Header names of draft-ietf-httpapi-ratelimit-headers (draft 11), in
// net/http's canonical form so they can be set without canonicalising.
const (
	HeaderRateLimitPolicy = "Ratelimit-Policy"
	HeaderRateLimit       = "Ratelimit"
)

// refusal is what a 429 says about the limit that refused it.
type refusal struct {
	title, detail string
}

// refusals are the limits' titles and the details the client sees.
var refusals = map[domain.Limit]refusal{
	domain.LimitCapacity: {"Server at capacity", detailAtCapacity},
	domain.LimitFairShare: {"Over fair share",
		"Other clients are waiting for their share of the capacity and this client holds its share or more. " +
			"Retry later, or send fewer requests at once."},
	domain.LimitCeiling: {"Over client ceiling",
		"This client holds as many requests at once as its class allows. Retry when one of them has ended."},
	domain.LimitRate: {"Over rate limit",
		"This client starts requests faster than its class's rate allows. Retry after Retry-After seconds."},
}

// refusalOf returns the refusal err carries: a gate's *domain.Refusal, or
// the cluster-wide cap for a bare domain.ErrAtCapacity. An unknown limit
// reads as the cap, so the answer stays one of the documented types.
func refusalOf(err error) domain.Refusal {
	var r *domain.Refusal
	if !errors.As(err, &r) || r == nil {
		return domain.Refusal{Limit: domain.LimitCapacity}
	}
	out := *r
	if _, ok := refusals[out.Limit]; !ok {
		out.Limit = domain.LimitCapacity
	}
	return out
}

// setRefusalHeaders writes Retry-After sized to the limit (defaultWait,
// in whole seconds, when the gate gave none) and, when the gate named a
// quota, the RateLimit fields: the policy that refused and what is left of
// it (none), e.g.
//
//	RateLimit-Policy: "fair-share";q=12;qu="concurrent-requests"
//	RateLimit: "fair-share";r=0;t=1
//
// It returns the wait Retry-After announced.
func setRefusalHeaders(h http.Header, r domain.Refusal, defaultWait time.Duration) time.Duration {
	wait := defaultWait
	if r.RetryAfter > 0 {
		wait = wholeSeconds(r.RetryAfter)
	}
	retry := strconv.Itoa(int(wait / time.Second))
	h.Set("Retry-After", retry)
	if r.Quota.Limit <= 0 {
		return wait
	}
	h[HeaderRateLimitPolicy] = []string{PolicyItem(string(r.Limit), r.Quota.Limit, r.Quota.Window)}
	var b strings.Builder
	b.WriteString(strconv.Quote(string(r.Limit)))
	b.WriteString(";r=")
	b.WriteString(strconv.Itoa(max(0, r.Quota.Remaining)))
	b.WriteString(";t=")
	b.WriteString(retry)
	h[HeaderRateLimit] = []string{b.String()}
	return wait
}

// PolicyItem is one member of a RateLimit-Policy field: a quota of q
// requests per window, or, with no window, of q requests at once.
func PolicyItem(name string, q int, window time.Duration) string {
	s := strconv.Quote(name) + ";q=" + strconv.Itoa(q)
	if window > 0 {
		return s + ";w=" + retryAfterSeconds(window)
	}
	return s + `;qu="concurrent-requests"`
}
