package domain

import (
	"encoding/base32"
	"fmt"
	"io"
	"strings"
)

// GiftCodePrefix starts every gift code, as in the original.
const GiftCodePrefix = "GIFT-"

// giftCodeBytes of randomness give 120 bits: collisions stay out of reach
// even after billions of codes (the birthday bound is ~2^60).
const giftCodeBytes = 15

// giftAlphabet is Crockford-like base32 without I, L, O and U, so codes read
// back over the phone without confusion.
var giftAlphabet = base32.NewEncoding("0123456789ABCDEFGHJKMNPQRSTVWXYZ").WithPadding(base32.NoPadding)

// NewGiftCode draws a code from src, which must be a cryptographic source
// (crypto/rand.Reader in production) so codes cannot be guessed.
func NewGiftCode(src io.Reader) (string, error) {
	var buf [giftCodeBytes]byte
	if _, err := io.ReadFull(src, buf[:]); err != nil {
		return "", fmt.Errorf("read randomness: %w", err)
	}
	return GiftCodePrefix + giftAlphabet.EncodeToString(buf[:]), nil
}

// IsGiftCode reports whether s has the shape NewGiftCode produces.
func IsGiftCode(s string) bool {
	body, ok := strings.CutPrefix(s, GiftCodePrefix)
	if !ok || len(body) != giftAlphabet.EncodedLen(giftCodeBytes) {
		return false
	}
	_, err := giftAlphabet.DecodeString(body)
	return err == nil
}
