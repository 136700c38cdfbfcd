package redisidem_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/adapters/redis/redisidem"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/ports"
	"github.com/1000x-rps-server/rps-server/tests/infra"
)

// What one client key costs Redis, measured on a Redis of the test's own
// (docs/operations.md, "Redis sizing"): a key answered with a gift code, as the service
// stores it, and the worst a key may cost (every field at its bound).
func TestSizing_BytesPerKey(t *testing.T) {
	const n = 10_000
	r := infra.StartRedis(t)
	client := infra.AdapterClient(t, r.URL())
	s, err := redisidem.New(client, redisidem.Config{Prefix: "rps:idem:", TTL: 24 * time.Hour, CommandTimeout: time.Second})
	require.NoError(t, err)
	ctx := context.Background()
	store := func(key string, c ports.Claim, out domain.Outcome) {
		e, err := s.Begin(ctx, key, c)
		require.NoError(t, err)
		require.NoError(t, s.Complete(ctx, key, e, out))
	}
	claim := func() ports.Claim {
		return ports.Claim{Fingerprint: "0123456789abcdef", TaskID: uuid.NewString(), Token: uuid.NewString(), Lease: 20 * time.Second}
	}
	code := "GIFT-" + strings.Repeat("A", 16)
	typical := infra.BytesPer(t, client, n, func(int) {
		store(uuid.NewString(), claim(), domain.Outcome{RequestID: uuid.NewString(), Kind: domain.KindGiftCode, Value: code})
	})
	held := infra.BytesPer(t, client, n, func(int) {
		_, err := s.Begin(ctx, uuid.NewString(), claim())
		require.NoError(t, err)
	})
	field := strings.Repeat("f", ports.MaxClaimField)
	worst := infra.BytesPer(t, client, n, func(int) {
		c := claim()
		c.Fingerprint, c.TaskID = field, uuid.NewString()+field[36:]
		value := strings.Repeat("V", ports.MaxOutcomeBytes-128-len(domain.KindGiftCode))
		store(strings.Repeat("k", 200)+uuid.NewString(), c, domain.Outcome{RequestID: strings.Repeat("r", 128), Kind: domain.KindGiftCode, Value: value})
	})
	t.Logf("bytes per key: %.0f answered with a gift code, %.0f while in flight, %.0f at every bound", typical, held, worst)
	assert.Less(t, typical, 300.0, "bytes per key answered with a gift code")
	assert.Less(t, held, 300.0, "bytes per key in flight")
	assert.Less(t, worst, 900.0, "bytes per key at every bound")
}
