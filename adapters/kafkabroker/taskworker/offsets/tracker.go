// Package offsets tracks where answering stands in each partition of the
// tasks topic: which offset may be committed (every task before it is
// answered) and how many tasks are not answered yet (the consumer lag).
package offsets

import "sync"

// Tracker finds, per partition, the offset up to which every task has
// been answered: tasks finish out of order, but an offset may only be
// committed once everything before it is done (at-least-once).
type Tracker struct {
	mu         sync.Mutex
	partitions map[int32]*partitionOffsets
}

// partitionOffsets holds one assignment's offsets in flight in the order they
// arrived, so gaps in a partition's offsets (compaction, transaction markers)
// never stall it.
type partitionOffsets struct {
	inFlight []int64
	done     map[int64]bool
}

// Ticket names one started offset within one assignment of its partition. A
// ticket from before a revoke finishes nothing: if the partition comes back,
// its tracking starts afresh from the committed offset.
type Ticket struct {
	Partition int32
	Offset    int64
	owner     *partitionOffsets
}

// NewTracker returns a tracker with no partition.
func NewTracker() *Tracker {
	return &Tracker{partitions: map[int32]*partitionOffsets{}}
}

// Start records that offset of partition is being processed.
func (t *Tracker) Start(partition int32, offset int64) Ticket {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.partitions[partition]
	if p == nil {
		p = &partitionOffsets{done: map[int64]bool{}}
		t.partitions[partition] = p
	}
	p.inFlight = append(p.inFlight, offset)
	return Ticket{Partition: partition, Offset: offset, owner: p}
}

// Finish records the ticket's offset as done and returns the offset to
// commit (the next one to read) when the contiguous done prefix grew, or
// ok=false.
func (t *Tracker) Finish(tk Ticket) (commit int64, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.partitions[tk.Partition]
	if p == nil || p != tk.owner { // revoked meanwhile: its new owner redoes the task
		return 0, false
	}
	p.done[tk.Offset] = true
	for len(p.inFlight) > 0 && p.done[p.inFlight[0]] {
		delete(p.done, p.inFlight[0])
		commit, ok = p.inFlight[0]+1, true
		p.inFlight = p.inFlight[1:]
	}
	return commit, ok
}

// Forget drops a revoked partition's state.
func (t *Tracker) Forget(partition int32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.partitions, partition)
}

// Oldest returns the first offset of partition still being processed (its
// task is not yet answered), if any.
func (t *Tracker) Oldest(partition int32) (int64, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p := t.partitions[partition]; p != nil && len(p.inFlight) > 0 {
		return p.inFlight[0], true
	}
	return 0, false
}
