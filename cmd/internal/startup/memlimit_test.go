package startup

import (
	"bytes"
	"errors"
	"log/slog"
	"math"
	"runtime/debug"
	"testing"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/stretchr/testify/assert"
)

// memoryLimitNow reads Go's soft memory limit (a negative value only reads).
func memoryLimitNow() int64 { return debug.SetMemoryLimit(-1) }

func TestTuneMemoryLimit(t *testing.T) {
	const gib = 1 << 30
	cases := []struct {
		name    string
		environ []string
		limit   memlimit.Provider
		want    int64
		logged  string
	}{
		{"cgroup_limit", []string{"PATH=/bin"}, memlimit.Limit(gib), 858993459 /* 80 % of 1 GiB */, "GOMEMLIMIT=858993459 cgroup_limit=1073741824"},
		{"environment_wins", []string{"GOMEMLIMIT=300MiB"}, memlimit.Limit(gib), math.MaxInt64, "GOMEMLIMIT=300MiB"},
		{"no_limit", nil, func() (uint64, error) { return 0, memlimit.ErrNoLimit }, math.MaxInt64, "GOMEMLIMIT unset"},
		{"no_cgroups", nil, func() (uint64, error) { return 0, memlimit.ErrCgroupsNotSupported }, math.MaxInt64, "level=INFO"},
		{"unreadable", nil, func() (uint64, error) { return 0, errors.New("permission denied") }, math.MaxInt64, "level=WARN"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := debug.SetMemoryLimit(math.MaxInt64)
			t.Cleanup(func() { debug.SetMemoryLimit(before) })
			var logs bytes.Buffer
			tuneMemoryLimit(tc.environ, tc.limit, slog.New(slog.NewTextHandler(&logs, nil)))
			assert.Equal(t, tc.want, memoryLimitNow())
			assert.Contains(t, logs.String(), tc.logged)
		})
	}
}
