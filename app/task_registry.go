package app

import (
	"io"

	"github.com/1000x-rps-server/rps-server/domain"
)

// DefaultHandlers lists every task kind this service runs. Servers accept
// exactly these kinds and workers run them: add a new kind here, and to the
// action enum of adapters/httpapi/openapi.yaml (a test in
// cmd/server/internal/serverapp fails while the two differ).
func DefaultHandlers(random io.Reader) []TaskHandler {
	return []TaskHandler{
		NewGiftCodeHandler(random),
	}
}

// KindsOf returns the kinds the handlers run, for the server to accept.
func KindsOf(handlers []TaskHandler) []domain.Kind {
	kinds := make([]domain.Kind, 0, len(handlers))
	for _, h := range handlers {
		kinds = append(kinds, h.Kind())
	}
	return kinds
}
