package configs_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/1000x-rps-server/rps-server/configs"
)

// The servers watch worker.watch_groups, else worker.group, and nothing
// when worker.watch is off.
func TestWatchedWorkerGroups(t *testing.T) {
	tests := []struct {
		name   string
		watch  bool
		groups string
		want   []string
	}{
		{"default_is_the_workers_group", true, "", []string{"gift-service-workers"}},
		{"listed", true, "a, b ,,c", []string{"a", "b", "c"}},
		{"only_commas_is_the_workers_group", true, " , ", []string{"gift-service-workers"}},
		{"off", false, "a", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := configs.Default()
			cfg.Worker.Watch, cfg.Worker.WatchGroups = tt.watch, tt.groups
			assert.Equal(t, tt.want, cfg.WatchedWorkerGroups())
		})
	}
}
