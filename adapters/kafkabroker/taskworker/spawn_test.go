package taskworker

import (
	"bytes"
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// taskGoroutines counts the goroutines running taskLoop, by their stacks:
// the package's other tests may still be ending goroutines of their own.
func taskGoroutines() int {
	buf := make([]byte, 1<<20)
	return bytes.Count(buf[:runtime.Stack(buf, true)], []byte("taskworker.(*Runner).taskLoop("))
}

// A task goroutine that is done waits for the next task: tasks run one
// after another reuse it (its stack grown once), and it ends with the
// worker.
func TestSpawn_ReusesATaskGoroutineAndEndsWithTheWorker(t *testing.T) {
	abandon, abandonNow := context.WithCancel(context.Background())
	w := &Runner{next: make(chan func()), abandon: abandon}
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
	assert.Equal(t, 1, taskGoroutines(), "one goroutine ran the 21 tasks")
	abandonNow()
	assert.Eventually(t, func() bool { return taskGoroutines() == 0 }, taskIdle/2, time.Millisecond,
		"it ends with the worker, before its idle wait would")
}
