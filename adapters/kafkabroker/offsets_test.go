package kafkabroker

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestOffsetTracker_CommitsOnlyTheContiguousDonePrefix(t *testing.T) {
	type step struct {
		finish     int64
		wantCommit int64 // 0: nothing to commit yet
	}
	tests := []struct {
		name    string
		started []int64
		steps   []step
	}{
		{name: "in_order", started: []int64{10, 11, 12}, steps: []step{{10, 11}, {11, 12}, {12, 13}}},
		{name: "out_of_order", started: []int64{10, 11, 12}, steps: []step{{12, 0}, {11, 0}, {10, 13}}},
		{name: "middle_first", started: []int64{10, 11, 12, 13}, steps: []step{{11, 0}, {10, 12}, {13, 0}, {12, 14}}},
		{name: "gaps_in_offsets", started: []int64{10, 15, 20}, steps: []step{{15, 0}, {10, 16}, {20, 21}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newOffsetTracker()
			for _, o := range tt.started {
				tr.start(3, o)
			}
			for _, s := range tt.steps {
				commit, ok := tr.finish(3, s.finish)
				assert.Equal(t, s.wantCommit != 0, ok, "finish %d", s.finish)
				assert.Equal(t, s.wantCommit, commit, "finish %d", s.finish)
			}
		})
	}
}

func TestOffsetTracker_PartitionsAreIndependentAndForgettable(t *testing.T) {
	tr := newOffsetTracker()
	tr.start(0, 5)
	tr.start(1, 7)
	commit, ok := tr.finish(1, 7)
	assert.True(t, ok)
	assert.Equal(t, int64(8), commit)

	tr.forget(0)
	_, ok = tr.finish(0, 5)
	assert.False(t, ok, "a revoked partition commits nothing")
}
