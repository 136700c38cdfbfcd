// Package requestid gives every request of the API an id: the caller's
// X-Request-ID when it is sane, else a fresh one.
package requestid

import (
	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/1000x-rps-server/rps-server/observability"
)

// maxRequestIDLen bounds a caller's X-Request-ID; longer ones are replaced.
const maxRequestIDLen = 128

// Middleware takes the caller's X-Request-ID when it is sane, generates one
// otherwise, and sets it on the response and in the request's context before
// anything else runs, so every response and log line carries it.
func Middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		id := req.Header.Get(echo.HeaderXRequestID)
		if !saneRequestID(id) {
			id = uuid.NewString()
		}
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		c.SetRequest(req.WithContext(observability.WithRequestID(req.Context(), id)))
		return next(c)
	}
}

// saneRequestID accepts 1 to 128 characters of [A-Za-z0-9._:-], which is
// safe to log and to echo back in a header.
func saneRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := range len(id) {
		switch ch := id[i]; {
		case ch >= 'a' && ch <= 'z', ch >= 'A' && ch <= 'Z', ch >= '0' && ch <= '9',
			ch == '.', ch == '_', ch == ':', ch == '-':
		default:
			return false
		}
	}
	return true
}
