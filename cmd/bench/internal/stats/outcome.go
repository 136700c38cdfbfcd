// Package stats records what the load generator saw: latency in HDR
// histograms per route and per outcome class, status codes, a per-second
// history, and the gift codes handed out (to find duplicates).
package stats

import (
	"strconv"
	"time"
)

// Class sorts a finished request by what it means for the run. A 429 is the
// gate working, not a failure, so it is kept apart from the failures.
type Class int

// Classes of outcome.
const (
	OK          Class = iota // 2xx whose answer passed the checks
	Limited                  // 429: the gate was full
	ClientError              // any other 4xx
	ServerError              // 5xx
	NetError                 // no HTTP answer: connection refused or reset, timeout
	BadAnswer                // 2xx whose body failed a check (no gift code, a duplicate)
	numClasses
)

// Classes lists every class in order.
var Classes = []Class{OK, Limited, ClientError, ServerError, NetError, BadAnswer}

// String is the class's key in summary.json and history.csv.
func (c Class) String() string {
	switch c {
	case OK:
		return "ok"
	case Limited:
		return "429"
	case ClientError:
		return "4xx"
	case ServerError:
		return "5xx"
	case NetError:
		return "network_error"
	case BadAnswer:
		return "bad_answer"
	default:
		return "class" + strconv.Itoa(int(c))
	}
}

// Failure reports whether the class counts as a failure (Locust's "Failure
// Count"): everything except OK and 429.
func (c Class) Failure() bool { return c != OK && c != Limited }

// ClassOf maps an HTTP status to its class; status 0 means no answer.
func ClassOf(status int) Class {
	switch {
	case status == 0:
		return NetError
	case status == 429:
		return Limited
	case status >= 200 && status < 300:
		return OK
	case status >= 500:
		return ServerError
	default:
		return ClientError
	}
}

// Outcome is one finished request.
type Outcome struct {
	Route   int       // index into the recorder's routes
	Start   time.Time // when it was sent (or, in the open model, due)
	Latency time.Duration
	Status  int // 0 when there was no HTTP answer
	Class   Class
	Bytes   int    // body size
	Error   string // for failures: what went wrong, as failures.csv lists it
	// RetryAfter is the answer's Retry-After in seconds, 0 when it had none
	// (or an HTTP date, which the server never sends).
	RetryAfter time.Duration
}
