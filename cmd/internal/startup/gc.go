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
	if v, ok := lookupEnv(environ, "GOGC"); ok {
		log.Info("garbage collector target from the environment", "GOGC", v)
		return
	}
	debug.SetGCPercent(gcPercent)
	log.Info("garbage collector target set (GOGC unset)", "GOGC", gcPercent)
}

// lookupEnv finds name in KEY=VALUE pairs; the last one wins, as in os/exec.
func lookupEnv(environ []string, name string) (string, bool) {
	for i := len(environ) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(environ[i], name+"="); ok {
			return v, true
		}
	}
	return "", false
}
