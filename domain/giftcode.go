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
	// Encoded in place: one allocation for the code, not three.
	var code [len(GiftCodePrefix) + giftCodeChars]byte
	copy(code[:], GiftCodePrefix)
	giftAlphabet.Encode(code[len(GiftCodePrefix):], buf[:])
	return string(code[:]), nil
}

// giftCodeChars is the length of a code after its prefix: 5 bits a character.
const giftCodeChars = giftCodeBytes * 8 / 5

// IsGiftCode reports whether s has the shape NewGiftCode produces, or the
// Python original's ("GIFT-" + an upper-case UUID, 41 characters), so codes
// issued by either kind of worker pass during a migration.
func IsGiftCode(s string) bool {
	body, ok := strings.CutPrefix(s, GiftCodePrefix)
	if !ok {
		return false
	}
	if len(body) == originalCodeLen-len(GiftCodePrefix) {
		return isUpperUUID(body)
	}
	if len(body) != giftAlphabet.EncodedLen(giftCodeBytes) {
		return false
	}
	_, err := giftAlphabet.DecodeString(body)
	return err == nil
}

// originalCodeLen is the length of the original's codes: "GIFT-" + 36.
const originalCodeLen = 41

// isUpperUUID reports whether s is a UUID in the canonical 8-4-4-4-12 form
// with upper-case hex digits, as Python's str(uuid4()).upper() writes it.
func isUpperUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'A' || c > 'F') {
				return false
			}
		}
	}
	return true
}
