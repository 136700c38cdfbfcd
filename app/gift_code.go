package app

import (
	"context"
	"fmt"
	"io"

	"github.com/1000x-rps-server/rps-server/domain"
)

// GiftCodeHandler issues a fresh gift code per task.
type GiftCodeHandler struct {
	random io.Reader
}

// NewGiftCodeHandler draws codes from random, which must be a cryptographic
// source (crypto/rand.Reader) so codes cannot be guessed.
func NewGiftCodeHandler(random io.Reader) *GiftCodeHandler {
	return &GiftCodeHandler{random: random}
}

// Kind implements TaskHandler.
func (*GiftCodeHandler) Kind() domain.Kind { return domain.KindGiftCode }

// Handle implements TaskHandler.
func (h *GiftCodeHandler) Handle(ctx context.Context, _ domain.Task) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("gift code: %w", err)
	}
	code, err := domain.NewGiftCode(h.random)
	if err != nil {
		return "", fmt.Errorf("gift code: %w", err)
	}
	return code, nil
}
