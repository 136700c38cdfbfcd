package httpapi

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/1000x-rps-server/rps-server/domain"
)

// Headers of idempotent requests (draft-ietf-httpapi-idempotency-key-header).
const (
	// headerIdempotencyKey is the canonical form, as net/http keys its map.
	headerIdempotencyKey = "Idempotency-Key"
	// headerReplayed marks a response that repeats a stored outcome.
	headerReplayed = "Idempotent-Replayed"
)

// submitOnce runs POST /queue under the client's Idempotency-Key. A replay
// answers as the first run did: same body, same request id (in X-Request-ID
// too), plus Idempotent-Replayed: true. A header sent twice is refused, since
// the two could disagree.
func (a *API) submitOnce(ctx context.Context, c echo.Context, client domain.Client, keys []string, kind domain.Kind, id string) (domain.Outcome, error) {
	if len(keys) != 1 || !domain.ValidIdempotencyKey(keys[0]) {
		return domain.Outcome{}, echo.NewHTTPError(http.StatusBadRequest,
			"send one Idempotency-Key header of 1 to 255 visible ASCII characters")
	}
	out, err := a.sub.SubmitOnce(ctx, client, keys[0], kind, id)
	if out.Replayed {
		h := c.Response().Header()
		h.Set(headerReplayed, "true")
		h.Set(echo.HeaderXRequestID, out.RequestID)
	}
	return out, err
}
