package redisledger_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/tests/infra"
)

// What one issuance record costs Redis, measured on a Redis of the test's
// own (docs/operations.md, "Redis sizing"): a task id (a UUID, as the servers make
// them) and a gift code.
func TestSizing_BytesPerRecord(t *testing.T) {
	const n = 10_000
	r := infra.StartRedis(t)
	l := newLedger(t, infra.AdapterClient(t, r.URL()), 24*time.Hour)
	ctx := context.Background()
	code := "GIFT-" + strings.Repeat("A", 16)
	perRecord := infra.BytesPer(t, infra.RedisClient(t, r.URL()), n, func(int) {
		_, err := l.Record(ctx, uuid.NewString(), code)
		require.NoError(t, err)
	})
	t.Logf("%.0f bytes per ledger record", perRecord)
	assert.Less(t, perRecord, 250.0, "bytes per ledger record")
}
