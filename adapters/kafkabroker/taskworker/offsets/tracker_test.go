package offsets

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
		{name: "reverse_order", started: []int64{10, 11, 12}, steps: []step{{12, 0}, {11, 0}, {10, 13}}},
		{name: "middle_first", started: []int64{10, 11, 12, 13}, steps: []step{{11, 0}, {10, 12}, {13, 0}, {12, 14}}},
		{name: "gaps_in_offsets", started: []int64{10, 15, 20}, steps: []step{{15, 0}, {10, 16}, {20, 21}}},
		{name: "head_last_of_many", started: []int64{0, 1, 2, 3, 4, 5}, steps: []step{{5, 0}, {3, 0}, {1, 0}, {4, 0}, {2, 0}, {0, 6}}},
		{name: "unfinished_head_holds_all", started: []int64{7, 8, 9}, steps: []step{{8, 0}, {9, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := NewTracker()
			Tickets := map[int64]Ticket{}
			for _, o := range tt.started {
				Tickets[o] = tr.Start(3, o)
			}
			for _, s := range tt.steps {
				commit, ok := tr.Finish(Tickets[s.finish])
				assert.Equal(t, s.wantCommit != 0, ok, "finish %d", s.finish)
				assert.Equal(t, s.wantCommit, commit, "finish %d", s.finish)
			}
		})
	}
}

func TestOffsetTracker_PartitionsAreIndependent(t *testing.T) {
	tr := NewTracker()
	a := tr.Start(0, 5)
	b := tr.Start(1, 7)
	commit, ok := tr.Finish(b)
	assert.True(t, ok)
	assert.Equal(t, int64(8), commit, "partition 1 does not wait for partition 0")
	commit, ok = tr.Finish(a)
	assert.True(t, ok)
	assert.Equal(t, int64(6), commit)
}

func TestOffsetTracker_RevokedPartitionCommitsNothing(t *testing.T) {
	tr := NewTracker()
	old := tr.Start(0, 5)
	tr.Forget(0)
	_, ok := tr.Finish(old)
	assert.False(t, ok, "a revoked partition commits nothing")

	// Assigned again: the old Ticket belongs to the previous assignment and
	// must neither commit nor count towards the new one.
	fresh := tr.Start(0, 5)
	next := tr.Start(0, 6)
	_, ok = tr.Finish(old)
	assert.False(t, ok, "a Ticket from before the revoke is ignored")
	_, ok = tr.Finish(next)
	assert.False(t, ok, "offset 5 of this assignment is not done yet")
	commit, ok := tr.Finish(fresh)
	assert.True(t, ok)
	assert.Equal(t, int64(7), commit)
}
