package taskworker

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A task goroutine that is done waits for the next task: tasks run one
// after another reuse it (its stack grown once), and it ends with the
// worker. (Plain loops, not require.Eventually: its own goroutines would
// be counted.)
func TestSpawn_ReusesATaskGoroutineAndEndsWithTheWorker(t *testing.T) {
	abandon, abandonNow := context.WithCancel(context.Background())
	w := &Runner{next: make(chan func()), abandon: abandon}
	before := runtime.NumGoroutine()
	done := make(chan struct{}, 1)
	task := func() { done <- struct{}{} }
	w.spawn(task)
	<-done
	for i := range 20 {
		handed := false
		for deadline := time.Now().Add(time.Second); !handed && time.Now().Before(deadline); {
			select {
			case w.next <- task: // what spawn does first
				handed = true
			default:
				time.Sleep(time.Millisecond)
			}
		}
		require.True(t, handed, "task %d: no goroutine waits for it", i)
		<-done
	}
	assert.Equal(t, before+1, runtime.NumGoroutine(), "one goroutine ran the 21 tasks")
	abandonNow()
	for deadline := time.Now().Add(taskIdle / 2); runtime.NumGoroutine() > before && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	assert.Equal(t, before, runtime.NumGoroutine(), "it ends with the worker")
}
