package redisledger_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/configs"
	"github.com/1000x-rps-server/rps-server/tests/infra"
)

// What one issuance record costs Redis, measured on a Redis of the test's
// own (docs/operations-ledger.md): a task id (a UUID, as the servers make
// them) and a gift code. An unkeyed record lives the default window, so
// the ledger holds rate × window × bytes at steady state: at 10,000 codes/s
// that must stay within 2 GB.
func TestSizing_BytesPerRecord(t *testing.T) {
	const (
		n        = 10_000
		rate     = 10_000 // codes/s, sustained
		maxBytes = 2e9
	)
	r := infra.StartRedis(t)
	window := configs.Default().LedgerRecordWindow()
	l := newLedger(t, infra.AdapterClient(t, r.URL()), window, 24*time.Hour)
	ctx := context.Background()
	code := "GIFT-" + strings.Repeat("A", 16)
	perRecord := infra.BytesPer(t, infra.RedisClient(t, r.URL()), n, func(int) {
		_, err := l.Record(ctx, uuid.NewString(), code)
		require.NoError(t, err)
	})
	steady := perRecord * rate * window.Seconds()
	t.Logf("%.0f bytes per ledger record; %.2f GB at %d codes/s for %s", perRecord, steady/1e9, rate, window)
	assert.Less(t, perRecord, 215.0, "bytes per ledger record")
	assert.LessOrEqual(t, steady, maxBytes, "the ledger's steady-state memory at %d codes/s", rate)
}
