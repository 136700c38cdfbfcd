package redisgate_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/adapters/redis/redisgate"
)

// The timing rules, without Redis: the lease must outlive the longest
// request holding its slot (with the clock-drift allowance), and in block
// mode the sync must come often enough to renew leases before they get too
// short to hand out. Each broken rule names the fields it reads, the one at
// fault first.
func TestValidateTiming(t *testing.T) {
	// The defaults: reply timeout 10s, lease margin 5s, release timeout 2s.
	ok := redisgate.Timing{Lease: 15 * time.Second, Hold: 12 * time.Second, BlockSize: 8, BlockIdle: 20 * time.Millisecond}
	tests := []struct {
		name   string
		change func(*redisgate.Timing)
		fields []redisgate.TimingField
		want   string
	}{
		{name: "defaults", change: func(*redisgate.Timing) {}},
		{name: "per_request_ignores_block_idle", change: func(t *redisgate.Timing) { t.BlockSize, t.BlockIdle = 1, 0 }},
		{name: "lease_just_covers_the_hold", change: func(t *redisgate.Timing) { t.BlockSize, t.Lease = 1, 12013*time.Millisecond }},
		{
			name: "lease_margin_of_1ms", change: func(t *redisgate.Timing) { t.Lease = 10*time.Second + time.Millisecond },
			fields: []redisgate.TimingField{redisgate.FieldLease, redisgate.FieldHold},
			want:   "lease must cover the hold and 0.1% of itself for clock drift, so that no slot's lease ends while a request holds it (got 10.001s, hold 12s: at least 12.013s)",
		},
		{
			name: "lease_margin_equal_to_release_timeout", change: func(t *redisgate.Timing) { t.BlockSize, t.Lease = 1, 12*time.Second },
			fields: []redisgate.TimingField{redisgate.FieldLease, redisgate.FieldHold},
			want:   "lease must cover the hold and 0.1% of itself for clock drift, so that no slot's lease ends while a request holds it (got 12s, hold 12s: at least 12.013s)",
		},
		{
			name: "no_hold", change: func(t *redisgate.Timing) { t.Hold = 0 },
			fields: []redisgate.TimingField{redisgate.FieldHold}, want: "hold must be positive (got 0s)",
		},
		{
			name: "block_idle_under_a_millisecond", change: func(t *redisgate.Timing) { t.BlockIdle = 500 * time.Microsecond },
			fields: []redisgate.TimingField{redisgate.FieldBlockIdle, redisgate.FieldBlockSize},
			want:   "block idle must be at least 1ms when the block size is over 1 (got 500µs)",
		},
		{
			name: "block_idle_over_a_quarter_lease", change: func(t *redisgate.Timing) { t.BlockIdle = 3751 * time.Millisecond },
			fields: []redisgate.TimingField{redisgate.FieldBlockIdle, redisgate.FieldLease},
			want:   "block idle must be at most a quarter of the lease (got 3.751s, lease 15s)",
		},
		{
			name: "block_idle_over_a_quarter_of_what_the_hold_leaves", change: func(t *redisgate.Timing) { t.BlockIdle = 747 * time.Millisecond },
			fields: []redisgate.TimingField{redisgate.FieldBlockIdle, redisgate.FieldLease, redisgate.FieldHold},
			want:   "block idle must be at most a quarter of what the lease leaves beyond the hold and 0.1% of itself for clock drift (got 747ms, lease 15s, hold 12s: at most 746.25ms)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			timing := ok
			tt.change(&timing)
			err := redisgate.ValidateTiming(timing)
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			var te *redisgate.TimingError
			require.True(t, errors.As(err, &te), "a *TimingError: %v", err)
			assert.Equal(t, tt.fields, te.Fields)
			assert.EqualError(t, err, tt.want)
		})
	}
}

// The least lease the rule accepts is the one it names.
func TestValidateTiming_TheLeaseItAsksForIsEnough(t *testing.T) {
	for _, hold := range []time.Duration{time.Millisecond, 99 * time.Millisecond, 2100 * time.Millisecond, 12 * time.Second, 31 * time.Minute} {
		var te *redisgate.TimingError
		err := redisgate.ValidateTiming(redisgate.Timing{Lease: hold, Hold: hold, BlockSize: 1})
		require.True(t, errors.As(err, &te), "hold %s", hold)
		_, least, found := strings.Cut(te.Problem, "at least ")
		require.True(t, found, te.Problem)
		need, err := time.ParseDuration(strings.TrimSuffix(least, ")"))
		require.NoError(t, err, te.Problem)
		require.NoError(t, redisgate.ValidateTiming(redisgate.Timing{Lease: need, Hold: hold, BlockSize: 1}), "hold %s, lease %s", hold, need)
		require.Error(t, redisgate.ValidateTiming(redisgate.Timing{Lease: need - time.Millisecond, Hold: hold, BlockSize: 1}), "hold %s: %s is the least", hold, need)
	}
}
