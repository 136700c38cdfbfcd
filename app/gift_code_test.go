package app_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/app"
	"github.com/1000x-rps-server/rps-server/domain"
)

// The handler reads its randomness in blocks, yet each code is made of
// bytes of the source no other code used, taken in order: codes are as
// unpredictable and distinct as the source's bytes, across block ends too.
func TestGiftCodeHandler_UsesEachRandomByteOnce(t *testing.T) {
	src := make([]byte, 3*4096)
	for i := range src {
		src[i] = byte(i * 7 / 3) // no 15-byte window repeats
	}
	h := app.NewGiftCodeHandler(bytes.NewReader(src))
	const perBlock = 4096 / 15 // 273 codes, then 1 byte is left and skipped
	for i := range 2 * perBlock {
		got, err := h.Handle(context.Background(), domain.Task{})
		require.NoError(t, err)
		start := (i/perBlock)*4096 + (i%perBlock)*15
		want, err := domain.NewGiftCode(bytes.NewReader(src[start : start+15]))
		require.NoError(t, err)
		require.Equal(t, want, got, "code %d", i)
	}
}

func TestGiftCodeHandler_ConcurrentCodesDistinct(t *testing.T) {
	h := app.NewGiftCodeHandler(rand.Reader)
	codes := make(chan string, 4000)
	for range 8 {
		go func() {
			for range 500 {
				c, err := h.Handle(context.Background(), domain.Task{})
				assert.NoError(t, err)
				codes <- c
			}
		}()
	}
	seen := map[string]bool{}
	for range 4000 {
		c := <-codes
		require.True(t, domain.IsGiftCode(c), c)
		require.False(t, seen[c], "duplicate %s", c)
		seen[c] = true
	}
}

// BenchmarkGiftCode compares a code drawn from crypto/rand each time (as
// before) with the handler's block reads, from two goroutines as a worker
// runs them.
func BenchmarkGiftCode(b *testing.B) {
	b.Run("rand_per_code", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := domain.NewGiftCode(rand.Reader); err != nil {
					b.Error(err)
				}
			}
		})
	})
	b.Run("handler_blocks", func(b *testing.B) {
		h := app.NewGiftCodeHandler(rand.Reader)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := h.Handle(context.Background(), domain.Task{}); err != nil {
					b.Error(err)
				}
			}
		})
	})
}
