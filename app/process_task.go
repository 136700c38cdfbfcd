package app

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/1000x-rps-server/rps-server/domain"
)

// TaskHandler runs one kind of task. Adding a task kind means writing a
// handler and listing it in DefaultHandlers; nothing else in the core changes.
type TaskHandler interface {
	// Kind is the task kind this handler runs.
	Kind() domain.Kind
	// Handle runs task and returns its output.
	Handle(ctx context.Context, task domain.Task) (string, error)
}

// ProcessTask is the worker's use case: it dispatches each task to the handler
// registered for its kind and always produces a result.
type ProcessTask struct {
	handlers map[domain.Kind]TaskHandler
}

// NewProcessTask registers handlers; two handlers for one kind are refused.
func NewProcessTask(handlers ...TaskHandler) (*ProcessTask, error) {
	if len(handlers) == 0 {
		return nil, fmt.Errorf("process task: no handlers")
	}
	byKind := make(map[domain.Kind]TaskHandler, len(handlers))
	for _, h := range handlers {
		if h == nil {
			return nil, fmt.Errorf("process task: nil handler")
		}
		if err := h.Kind().Validate(); err != nil {
			return nil, fmt.Errorf("process task: %w", err)
		}
		if _, dup := byKind[h.Kind()]; dup {
			return nil, fmt.Errorf("process task: two handlers for kind %q", h.Kind())
		}
		byKind[h.Kind()] = h
	}
	return &ProcessTask{handlers: byKind}, nil
}

// Kinds lists the registered kinds, sorted.
func (p *ProcessTask) Kinds() []domain.Kind {
	return slices.Sorted(maps.Keys(p.handlers))
}

// Process runs task. A handler's error or panic, and an unknown kind, become
// a result with Error set, so the requester always gets an answer.
func (p *ProcessTask) Process(ctx context.Context, task domain.Task) (result domain.Result) {
	result.TaskID = task.ID
	h, ok := p.handlers[task.Kind]
	if !ok {
		result.Error = fmt.Sprintf("%v: %q", domain.ErrUnknownKind, task.Kind)
		return result
	}
	defer func() {
		if r := recover(); r != nil {
			result.Value, result.Error = "", fmt.Sprintf("handler %q panicked: %v", task.Kind, r)
		}
	}()
	value, err := h.Handle(ctx, task)
	if err != nil {
		result.Error = err.Error()
		return result
	}
	result.Value = value
	return result
}
