package startup

import (
	"log/slog"
	"runtime/debug"
	"strings"
)

// gcPercent is the garbage collector's target when GOGC is not set. The
// service's live heap is small (tens of MB), so at Go's default of 100 it
// collects hundreds of times a second under load; 400 collects a quarter as
// often for a heap that peaks at a few times the live one (measured in
// benchmarks/README.md, "CPU per request, lever by lever").
const gcPercent = 400

// tuneGC sets gcPercent unless the environment sets GOGC, which wins as it
// always does, and says which is in effect.
func tuneGC(environ []string, log *slog.Logger) {
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, "GOGC="); ok {
			log.Info("garbage collector target from the environment", "GOGC", v)
			return
		}
	}
	debug.SetGCPercent(gcPercent)
	log.Info("garbage collector target set (GOGC unset)", "GOGC", gcPercent)
}
