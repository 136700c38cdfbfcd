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

	"github.com/labstack/echo/v4"

	"github.com/1000x-rps-server/rps-server/domain"
)

// Pre-encoded bodies of the routes that never change.
var (
	helloBody = []byte(`{"Hello":"World"}` + "\n")
	okBody    = []byte(`{"status":"ok"}` + "\n")
	readyBody = []byte(`{"status":"ready"}` + "\n")
)

func (a *API) root(c echo.Context) error {
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, helloBody)
}

func (a *API) healthz(c echo.Context) error {
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, okBody)
}

func (a *API) readyz(c echo.Context) error {
	if a.draining.Load() {
		return echo.NewHTTPError(http.StatusServiceUnavailable, "not ready: shutting down")
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), readyTimeout)
	defer cancel()
	if err := a.sub.Ready(ctx); err != nil {
		return echo.NewHTTPError(http.StatusServiceUnavailable, "not ready: "+err.Error())
	}
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, readyBody)
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

func (a *API) queue(c echo.Context) error {
	kind, err := a.kindFromBody(c.Request())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), a.cfg.RequestTimeout)
	defer cancel()
	id := c.Response().Header().Get(echo.HeaderXRequestID)
	res, err := a.sub.Submit(ctx, kind, id)
	if err != nil {
		return err
	}
	if kind == domain.KindGiftCode {
		return c.JSON(http.StatusOK, giftResponse{GiftCode: res.Value, RequestID: id})
	}
	return c.JSON(http.StatusOK, resultResponse{Result: res.Value, RequestID: id})
}

// kindFromBody reads the optional {"action": "..."} body. No body means the
// default kind, so the original's clients need not send one.
func (a *API) kindFromBody(r *http.Request) (domain.Kind, error) {
	if r.ContentLength > a.cfg.BodyLimit {
		return "", echo.ErrStatusRequestEntityTooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, a.cfg.BodyLimit))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return "", echo.ErrStatusRequestEntityTooLarge
	case err != nil:
		return "", echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("read body: %v", err))
	case len(body) == 0:
		return domain.KindGiftCode, nil
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType)); err != nil || mt != echo.MIMEApplicationJSON {
		return "", echo.ErrUnsupportedMediaType
	}
	var req queueRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return "", echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("malformed JSON body: %v", err))
	}
	if dec.More() {
		return "", echo.NewHTTPError(http.StatusBadRequest, "malformed JSON body: data after the object")
	}
	if req.Action == "" {
		return domain.KindGiftCode, nil
	}
	return req.Action, nil
}
