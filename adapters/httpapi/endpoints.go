package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/1000x-rps-server/rps-server/adapters/httpapi/problem"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/observability"
)

// root answers the original's liveness ping, which its clients still send.
func (a *API) root(c echo.Context) error {
	return c.JSONBlob(http.StatusOK, a.helloBody)
}

// healthz says the process is alive; it never asks the ports, so a broken
// dependency makes the instance unready, not restarted.
func (a *API) healthz(c echo.Context) error {
	return c.JSONBlob(http.StatusOK, a.okBody)
}

// readyz says whether this instance should get traffic: not while starting
// or draining. A dependency every instance shares (Redis, Kafka, the
// workers) being down leaves it ready: the answer lists each one's state,
// and each request that needs it gets its own 503 with Retry-After. The
// public reason of a 503 names no address; the error goes to the log, once
// per change of state.
func (a *API) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), readyTimeout)
	defer cancel()
	rep := a.Readiness(ctx)
	a.logReadiness(ctx, rep.Err)
	if rep.Err != nil {
		return echo.NewHTTPError(http.StatusServiceUnavailable, "not ready: "+notReadyReason(rep.Err))
	}
	return c.JSONBlob(http.StatusOK, rep.Body(""))
}

// errDraining is why an instance that is shutting down is not ready.
var errDraining = errors.New("shutting down")

// Readiness is what /readyz answers: Err nil when this instance should get
// traffic, and the state of each shared dependency. The readiness metric
// asks it too, so both always agree.
func (a *API) Readiness(ctx context.Context) observability.Report {
	rep := a.cfg.Readiness.Check(ctx)
	if a.draining.Load() {
		rep.Err = errDraining
	}
	return rep
}

// logReadiness logs a change of readiness: WARN with the full error when the
// instance turns unready (or its reason changes), INFO when it is ready again.
func (a *API) logReadiness(ctx context.Context, err error) {
	now := ""
	if err != nil {
		now = notReadyReason(err)
	}
	if prev := a.notReady.Swap(&now); prev != nil && *prev == now {
		return
	}
	switch {
	case err != nil:
		a.cfg.Logger.WarnContext(ctx, "not ready", "reason", now, "err", err)
	default:
		a.cfg.Logger.InfoContext(ctx, "ready")
	}
}

// notReadyReason is the public reason of a failed readiness check: draining,
// starting, no worker, or the port named in front of the error ("gate: …" → "gate
// unavailable"), nothing of the error's text, which may hold addresses.
func notReadyReason(err error) string {
	switch {
	case errors.Is(err, errDraining):
		return errDraining.Error()
	case errors.Is(err, domain.ErrStarting):
		return "starting"
	case errors.Is(err, domain.ErrNoWorkers):
		return "no worker consumes tasks"
	}
	port, _, found := strings.Cut(err.Error(), ":")
	if !found || len(port) > 16 || strings.ContainsFunc(port, func(r rune) bool { return r < 'a' || r > 'z' }) {
		return "a dependency is unavailable"
	}
	return port + " unavailable"
}

// queueRequest is the optional body of POST /queue.
type queueRequest struct {
	Action domain.Kind `json:"action"`
}

// giftResponse keeps the original's response shape.
type giftResponse struct {
	GiftCode  string `json:"gift_code"`
	RequestID string `json:"request_id"`
}

// resultResponse answers every other kind of task.
type resultResponse struct {
	Result    string `json:"result"`
	RequestID string `json:"request_id"`
}

// queue runs one task under the request's deadline. The error handler alone
// decides the status of an error.
func (a *API) queue(c echo.Context) error {
	req := c.Request()
	kind, err := a.kindFromBody(c.Response().Writer, req)
	if err != nil {
		return err
	}
	client := a.clientOf(c)
	ctx, cancel := context.WithTimeout(req.Context(), a.cfg.RequestTimeout)
	defer cancel()
	id := observability.RequestID(ctx)
	var value string
	if key, ok := req.Header[headerIdempotencyKey]; ok {
		var out domain.Outcome
		out, err = a.submitOnce(ctx, c, client, key, kind, id)
		value, id = out.Value, c.Response().Header().Get(echo.HeaderXRequestID)
	} else {
		var res domain.Result
		res, err = a.sub.Submit(ctx, client, kind, id)
		value = res.Value
	}
	a.fair.observe(client, err)
	if err != nil {
		// Not wrapped: for 400 and 422 the app's own text is the detail.
		return err
	}
	if p, ok := a.policies[client.ClassOf()]; ok {
		c.Response().Header()[problem.HeaderRateLimitPolicy] = p
	}

	field := fieldResult
	if kind == domain.KindGiftCode {
		field = fieldGiftCode
	}
	body, err := encodeAnswer(field, value, id)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	return c.JSONBlob(http.StatusOK, body)
}

// kindFromBody reads the optional {"action": "..."} body. No body means the
// default kind, so the original's clients need not send one; they often send
// no Content-Type either, which is why it is only checked for a real body.
func (a *API) kindFromBody(w http.ResponseWriter, r *http.Request) (domain.Kind, error) {
	if r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody {
		return domain.KindGiftCode, nil // the hot path: nothing to read
	}
	if r.ContentLength > a.cfg.BodyLimit {
		return "", echo.ErrStatusRequestEntityTooLarge
	}
	// Bodies of unknown length (chunked) are cut at the limit while read; w
	// lets net/http close the connection rather than drain the rest.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.cfg.BodyLimit))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return "", echo.ErrStatusRequestEntityTooLarge
	case err != nil:
		return "", echo.NewHTTPError(http.StatusBadRequest, "read body: "+err.Error())
	case len(body) == 0:
		return domain.KindGiftCode, nil
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType)); err != nil || mt != echo.MIMEApplicationJSON {
		return "", echo.ErrUnsupportedMediaType
	}

	var q *queueRequest // stays nil for a body of null, which is not an object
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&q); err != nil {
		return "", echo.NewHTTPError(http.StatusBadRequest, "malformed JSON body: "+err.Error())
	}
	if q == nil {
		return "", echo.NewHTTPError(http.StatusBadRequest, "malformed JSON body: not an object")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return "", echo.NewHTTPError(http.StatusBadRequest, "malformed JSON body: data after the object")
	}
	if q.Action == "" {
		return domain.KindGiftCode, nil
	}
	return q.Action, nil
}
