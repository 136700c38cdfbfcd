// Package problem answers every failed request of the API with an RFC 9457
// problem+json body, from the one table that maps the core's errors to HTTP,
// and logs each failure once at a level that fits.
package problem

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/1000x-rps-server/rps-server/adapters/httpapi/internal/plainjson"
	"github.com/1000x-rps-server/rps-server/adapters/httpapi/pacing"
	"github.com/1000x-rps-server/rps-server/domain"
)

// statusClientClosedRequest is nginx's status for a caller that went away.
const statusClientClosedRequest = 499

// maxEchoed bounds the client input a problem body or a log line repeats
// (the path in instance, a bad action in detail): a 100 kB path must not
// come back 100 kB long, nor fill the log.
const maxEchoed = 256

// Details the client sees instead of an error's text, which may hold internals.
const (
	detailAtCapacity  = "Server busy, too many in-flight requests. Please try again later." // the original's text
	detailUnavailable = "A service this request needs cannot be reached. Please try again later."
	detailTimedOut    = "No reply from a worker in time."
	detailTaskFailed  = "The worker could not run the task."
	detailCanceled    = "The client closed the request."
	detailInternal    = "Internal server error."
	detailKeyInFlight = "A request with this Idempotency-Key is still in progress. Retry later to get its result."
	detailKeyReused   = "This Idempotency-Key was used for a different request."
)

// errorRow maps one error to a status. A fixed detail hides internals; an
// empty one passes the error's own text on, safe for the client's mistakes only.
type errorRow struct {
	err    error
	status int
	detail string
}

// errorTable is the one table from the core's errors to HTTP, checked in
// order with errors.Is. Cancellation comes first: when the caller went away,
// whatever a port reported on the way out is not the story.
func errorTable() []errorRow {
	return []errorRow{
		{context.Canceled, statusClientClosedRequest, detailCanceled},
		{domain.ErrAtCapacity, http.StatusTooManyRequests, detailAtCapacity},
		{domain.ErrUnavailable, http.StatusServiceUnavailable, detailUnavailable},
		{domain.ErrTimedOut, http.StatusGatewayTimeout, detailTimedOut},
		{domain.ErrTaskFailed, http.StatusBadGateway, detailTaskFailed},
		{domain.ErrInvalidTask, http.StatusBadRequest, ""},
		{domain.ErrUnknownKind, http.StatusUnprocessableEntity, ""},
		{domain.ErrKeyInFlight, http.StatusConflict, detailKeyInFlight},
		{domain.ErrKeyReused, http.StatusUnprocessableEntity, detailKeyReused},
		// RequestTimeout passed before the reply timeout did.
		{context.DeadlineExceeded, http.StatusGatewayTimeout, detailTimedOut},
	}
}

// Responder writes the problem responses of one API.
type Responder struct {
	rows       []errorRow    // the one error table, see errorTable
	retryAfter time.Duration // the default Retry-After, in whole seconds
	log        *slog.Logger
}

// New returns the responder of an API whose refusals ask clients to retry
// after retryAfter (rounded up to whole seconds), logging to log.
func New(retryAfter time.Duration, log *slog.Logger) *Responder {
	return &Responder{rows: errorTable(), retryAfter: wholeSeconds(retryAfter), log: log}
}

// problem is an RFC 9457 problem details body.
type problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	Instance  string `json:"instance"`
	RequestID string `json:"request_id"`
}

// encode is json.Marshal(p), byte for byte (TestEncode_IsJSONMarshal),
// without reflection when no field needs escaping: under a flood every 429
// is encoded here.
func encode(p problem) []byte {
	if !plainjson.Plain(p.Type) || !plainjson.Plain(p.Title) || !plainjson.Plain(p.Detail) ||
		!plainjson.Plain(p.Instance) || !plainjson.Plain(p.RequestID) {
		body, err := json.Marshal(p)
		if err != nil { // cannot happen with string and int fields; stay safe anyway
			return []byte(`{"type":"about:blank","title":"Internal Server Error","status":500}`)
		}
		return body
	}
	b := make([]byte, 0, 96+len(p.Type)+len(p.Title)+len(p.Detail)+len(p.Instance)+len(p.RequestID))
	b = append(append(append(b, `{"type":"`...), p.Type...), `","title":"`...)
	b = append(append(b, p.Title...), `","status":`...)
	b = strconv.AppendInt(b, int64(p.Status), 10)
	b = append(append(append(b, `,"detail":"`...), p.Detail...), `","instance":"`...)
	b = append(append(append(b, p.Instance...), `","request_id":"`...), p.RequestID...)
	return append(b, `"}`...)
}

// classify maps err to a status and the detail the client may see.
func (a *Responder) classify(err error) (status int, detail string) {
	for _, row := range a.rows {
		if errors.Is(err, row.err) {
			if row.detail == "" {
				return row.status, capEchoed(err.Error())
			}
			return row.status, row.detail
		}
	}
	var he *echo.HTTPError
	if errors.As(err, &he) { // made by echo or by our handlers, never by a port
		return he.Code, capEchoed(fmt.Sprint(he.Message))
	}
	return http.StatusInternalServerError, detailInternal
}

// Handle is echo's error handler: every error response of the API is
// written here, as problem+json, and logged once at a level that fits. A
// 429's type names the limit that refused (see TypeBase).
func (a *Responder) Handle(err error, c echo.Context) {
	status, detail := a.classify(err)
	req := c.Request()
	a.logError(req, status, err)
	if c.Response().Committed {
		return
	}

	h := c.Response().Header()
	typ, title := "about:blank", http.StatusText(status)
	switch status {
	case http.StatusTooManyRequests:
		// Which limit refused, with a Retry-After and quota of its own. A
		// connection refused again before that Retry-After has passed waits
		// it out (package pacing), so a client that ignores it cannot turn
		// the refusals into the server's main work.
		r := refusalOf(err)
		pacing.Refused(req, setRefusalHeaders(h, r, a.retryAfter))
		typ, title, detail = TypeBase+string(r.Limit), refusals[r.Limit].title, refusals[r.Limit].detail
	case http.StatusServiceUnavailable, http.StatusConflict:
		h.Set("Retry-After", retryAfterSeconds(a.retryAfter))
	case statusClientClosedRequest:
		title = "Client Closed Request"
	}
	body := encode(problem{
		Type: typ, Title: title, Status: status, Detail: detail,
		Instance: capEchoed(req.URL.Path), RequestID: h.Get(echo.HeaderXRequestID),
	})
	var wErr error
	if req.Method == http.MethodHead {
		wErr = c.NoContent(status)
	} else {
		wErr = c.Blob(status, "application/problem+json", body)
	}
	if wErr != nil {
		a.log.DebugContext(req.Context(), "write error response", "err", wErr)
	}
}

// logError logs what an operator must see: 500 at error, 502 (a worker's
// handler failed) at warn. Client mistakes, refusals (429), callers that left
// (499) and outages (503, 504) stay at debug, so an overload or an outage does
// not turn into a line per request: the adapters log the outage itself once,
// and the HTTP metrics count every status.
func (a *Responder) logError(req *http.Request, status int, err error) {
	level := slog.LevelDebug
	switch {
	case status == http.StatusInternalServerError:
		level = slog.LevelError
	case status >= http.StatusInternalServerError && status != http.StatusServiceUnavailable && status != http.StatusGatewayTimeout:
		level = slog.LevelWarn
	}
	ctx := req.Context()
	if !a.log.Enabled(ctx, level) { // no attrs built on the hot 429 path
		return
	}
	a.log.LogAttrs(ctx, level, "request failed",
		slog.Int("status", status), slog.String("method", req.Method),
		slog.String("path", capEchoed(req.URL.Path)), slog.Any("err", err))
}

// retryAfterSeconds rounds d up to whole seconds, at least 1: the
// Retry-After header's value.
func retryAfterSeconds(d time.Duration) string {
	return strconv.Itoa(int(wholeSeconds(d) / time.Second))
}

// wholeSeconds is d rounded up to whole seconds, at least 1: how long
// Retry-After asks a client to wait.
func wholeSeconds(d time.Duration) time.Duration {
	return time.Duration(max(1, int64((d+time.Second-1)/time.Second))) * time.Second
}

// capEchoed cuts client input to maxEchoed bytes, on a character boundary,
// marking the cut with "…".
func capEchoed(s string) string {
	if len(s) <= maxEchoed {
		return s
	}
	return strings.ToValidUTF8(s[:maxEchoed], "") + "…"
}
