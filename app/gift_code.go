package app

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/1000x-rps-server/rps-server/domain"
)

// GiftCodeHandler issues a fresh gift code per task.
type GiftCodeHandler struct {
	random io.Reader
}

// NewGiftCodeHandler draws codes from random, which must be a cryptographic
// source (crypto/rand.Reader) so codes cannot be guessed. It reads random
// in blocks (see blockReader): one read per ~270 codes instead of one each.
func NewGiftCodeHandler(random io.Reader) *GiftCodeHandler {
	return &GiftCodeHandler{random: &blockReader{src: random}}
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

// randomBlock is how much randomness blockReader reads at once.
const randomBlock = 4096

// blockReader hands out the bytes of src a block at a time, so codes do not
// pay a read of the system's generator each. Every byte is handed out once
// and wiped as it goes, so codes stay as unpredictable and as distinct as
// src's bytes and the randomness of codes already issued does not linger in
// memory; what lingers is at most one block of future codes' randomness.
// It is safe for concurrent use.
type blockReader struct {
	src  io.Reader
	mu   sync.Mutex
	buf  [randomBlock]byte
	left int // the last left bytes of buf are unused
}

func (r *blockReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(p) > len(r.buf) {
		return io.ReadFull(r.src, p) //nolint:wrapcheck // the caller wraps it
	}
	if r.left < len(p) {
		if _, err := io.ReadFull(r.src, r.buf[:]); err != nil {
			clear(r.buf[:])
			r.left = 0
			return 0, err //nolint:wrapcheck // the caller wraps it
		}
		r.left = len(r.buf)
	}
	unused := r.buf[len(r.buf)-r.left:]
	n := copy(p, unused)
	clear(unused[:n])
	r.left -= n
	return n, nil
}
