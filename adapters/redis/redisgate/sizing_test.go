package redisgate_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/tests/infra"
)

// What one held slot (a lease) costs Redis, in each mode, measured on a
// Redis of the test's own (docs/operations.md, "Redis sizing"). A gate holds at most
// gate.capacity leases, so this times the capacity bounds the gate.
func TestSizing_BytesPerLease(t *testing.T) {
	const n = 10_000
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			r := infra.StartRedis(t)
			cfg := mode.config(t, r.URL(), n+100) // and BytesPer's warm-up
			g := open(t, cfg)
			ctx := context.Background()
			perLease := infra.BytesPer(t, infra.RedisClient(t, r.URL()), n, func(int) {
				_, err := g.Acquire(ctx, uuid.NewString(), domain.Client{})
				require.NoError(t, err)
			})
			t.Logf("%s: %.0f bytes per lease", mode.name, perLease)
			assert.Less(t, perLease, 200.0, "bytes per lease")
		})
	}
}
