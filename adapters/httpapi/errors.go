package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/1000x-rps-server/rps-server/domain"
)

// statusClientClosedRequest is nginx's status for a caller that went away.
const statusClientClosedRequest = 499

// errorStatuses is the one table from the core's errors to HTTP. A fixed
// detail hides internals; an empty one passes the error's own text on,
// which is safe for the client's own mistakes only.
var errorStatuses = []struct {
	err    error
	status int
	detail string
}{
	{domain.ErrAtCapacity, http.StatusTooManyRequests, "Server busy, too many in-flight requests. Please try again later."},
	{domain.ErrUnavailable, http.StatusServiceUnavailable, "A service this request needs cannot be reached. Please try again later."},
	{domain.ErrTimedOut, http.StatusGatewayTimeout, "No reply from a worker in time."},
	{domain.ErrTaskFailed, http.StatusBadGateway, "The worker could not run the task."},
	{domain.ErrInvalidTask, http.StatusBadRequest, ""},
	{domain.ErrUnknownKind, http.StatusUnprocessableEntity, ""},
	{context.Canceled, statusClientClosedRequest, "The client closed the request."},
}

// problem is an RFC 9457 problem details body. Detail keeps the original's
// 429 text, so its clients still read it.
type problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	Instance  string `json:"instance"`
	RequestID string `json:"request_id,omitempty"`
}

// classify maps err to a status and the detail the client may see.
func classify(err error) (status int, detail string) {
	for _, row := range errorStatuses {
		if errors.Is(err, row.err) {
			if row.detail == "" {
				return row.status, err.Error()
			}
			return row.status, row.detail
		}
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return he.Code, fmt.Sprint(he.Message)
	}
	return http.StatusInternalServerError, "Internal server error."
}

// handleError is echo's error handler: every error response of the API is
// written here, as problem+json, and logged once at a level that fits.
func (a *API) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, detail := classify(err)
	req := c.Request()
	a.logError(req.Context(), status, err)

	h := c.Response().Header()
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		h.Set("Retry-After", a.retryAfter)
	}
	title := http.StatusText(status)
	if status == statusClientClosedRequest {
		title = "Client Closed Request"
	}
	body, mErr := json.Marshal(problem{
		Type: "about:blank", Title: title, Status: status, Detail: detail,
		Instance: req.URL.Path, RequestID: h.Get(echo.HeaderXRequestID),
	})
	if mErr != nil {
		body = []byte(`{"title":"Internal Server Error","status":500}`)
	}
	if req.Method == http.MethodHead {
		err = c.NoContent(status)
	} else {
		err = c.Blob(status, "application/problem+json", body)
	}
	if err != nil {
		a.cfg.Logger.DebugContext(req.Context(), "write error response", "err", err)
	}
}

// logError logs what an operator must see; expected refusals (429, 4xx,
// 503/504 under load) stay at debug so an overload does not flood the log.
func (a *API) logError(ctx context.Context, status int, err error) {
	level := slog.LevelDebug
	switch status {
	case http.StatusInternalServerError:
		level = slog.LevelError
	case http.StatusBadGateway:
		level = slog.LevelWarn
	}
	a.cfg.Logger.Log(ctx, level, "request failed", "status", status, "err", err)
}

func retryAfterSeconds(d time.Duration) string {
	return strconv.Itoa(max(1, int((d+time.Second-1)/time.Second)))
}
