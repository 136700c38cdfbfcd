package startup

import (
	"bytes"
	"log/slog"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
)

// gcPercentNow reads the collector's target (SetGCPercent returns the old one).
func gcPercentNow() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

func TestTuneGC_SetsTheTargetOnlyWhenGOGCIsUnset(t *testing.T) {
	before := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(before) })

	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	tuneGC([]string{"GOGC=150", "PATH=/bin"}, log)
	assert.Equal(t, 100, gcPercentNow(), "GOGC in the environment wins (the runtime read it already)")
	assert.Contains(t, logs.String(), "GOGC=150")

	logs.Reset()
	tuneGC([]string{"PATH=/bin", "XGOGC=1"}, log)
	assert.Equal(t, gcPercent, gcPercentNow())
	assert.Contains(t, logs.String(), "GOGC=400")
}
