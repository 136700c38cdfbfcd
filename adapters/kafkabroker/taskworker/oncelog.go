package taskworker

import (
	"context"
	"log/slog"
	"sync"
)

// onceLog logs the first failure of each kind at warn and the repeats at
// debug: a failure that hits every task alike (a reply topic the broker
// refuses, a producer sending junk) is one line, while the metrics count
// each task.
type onceLog struct {
	log  *slog.Logger
	seen sync.Map // kind → struct{}
}

// warn logs msg at warn the first time kind is seen, at debug afterwards.
func (l *onceLog) warn(ctx context.Context, kind, msg string, args ...any) {
	if _, seen := l.seen.LoadOrStore(kind, struct{}{}); seen {
		l.log.DebugContext(ctx, msg, args...)
		return
	}
	l.log.WarnContext(ctx, msg, append(args, "repeats", "logged at debug only")...)
}
