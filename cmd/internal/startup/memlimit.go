package startup

import (
	"errors"
	"log/slog"
	"runtime/debug"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

// memoryLimitShare is the part of the container's memory limit given to Go
// as its soft limit (GOMEMLIMIT). With GOGC at 400 the heap may grow to five
// times the live one before a collection, so without a soft limit a burst
// is OOM-killed by the cgroup before the collector runs. Not all of the
// limit: librdkafka's buffers live in the C heap, which the cgroup counts and
// Go does not.
const memoryLimitShare = 0.8

// tuneMemoryLimit sets Go's soft memory limit to memoryLimitShare of what
// limit reports (the cgroup's memory limit in production), unless the
// environment sets GOMEMLIMIT, which wins as it always does, and says which
// is in effect.
func tuneMemoryLimit(environ []string, limit memlimit.Provider, log *slog.Logger) {
	if v, ok := lookupEnv(environ, "GOMEMLIMIT"); ok {
		log.Info("memory limit from the environment", "GOMEMLIMIT", v)
		return
	}
	n, err := limit()
	switch {
	case errors.Is(err, memlimit.ErrNoLimit) || errors.Is(err, memlimit.ErrCgroupsNotSupported):
		log.Info("no memory limit found (no cgroup limit): GOMEMLIMIT unset")
		return
	case err != nil:
		log.Warn("memory limit unknown: GOMEMLIMIT unset", "err", err)
		return
	}
	soft := int64(float64(n) * memoryLimitShare)
	debug.SetMemoryLimit(soft)
	log.Info("memory limit set from the cgroup's", "GOMEMLIMIT", soft, "cgroup_limit", n, "share", memoryLimitShare)
}
