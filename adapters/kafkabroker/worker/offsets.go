package worker

import "sync"

// offsetTracker finds, per partition, the offset up to which every task has
// been answered: tasks finish out of order, but an offset may only be
// committed once everything before it is done (at-least-once).
type offsetTracker struct {
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

// ticket names one started offset within one assignment of its partition. A
// ticket from before a revoke finishes nothing: if the partition comes back,
// its tracking starts afresh from the committed offset.
type ticket struct {
	partition int32
	offset    int64
	owner     *partitionOffsets
}

func newOffsetTracker() *offsetTracker {
	return &offsetTracker{partitions: map[int32]*partitionOffsets{}}
}

// start records that offset of partition is being processed.
func (t *offsetTracker) start(partition int32, offset int64) ticket {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.partitions[partition]
	if p == nil {
		p = &partitionOffsets{done: map[int64]bool{}}
		t.partitions[partition] = p
	}
	p.inFlight = append(p.inFlight, offset)
	return ticket{partition: partition, offset: offset, owner: p}
}

// finish records the ticket's offset as done and returns the offset to
// commit (the next one to read) when the contiguous done prefix grew, or
// ok=false.
func (t *offsetTracker) finish(tk ticket) (commit int64, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.partitions[tk.partition]
	if p == nil || p != tk.owner { // revoked meanwhile: its new owner redoes the task
		return 0, false
	}
	p.done[tk.offset] = true
	for len(p.inFlight) > 0 && p.done[p.inFlight[0]] {
		delete(p.done, p.inFlight[0])
		commit, ok = p.inFlight[0]+1, true
		p.inFlight = p.inFlight[1:]
	}
	return commit, ok
}

// forget drops a revoked partition's state.
func (t *offsetTracker) forget(partition int32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.partitions, partition)
}
