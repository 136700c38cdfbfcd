package kafkabroker

import (
	"crypto/rand"
	"encoding/hex"
)

// RandomHex returns n random bytes in hex: the random part of the names
// that must not repeat across instances and restarts (probe correlation
// ids, a server instance's reply topic).
func RandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return hex.EncodeToString(b)
}
