package app

import (
	"context"
	"fmt"

	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/ports"
)

// ExactlyOnce decorates a TaskProcessor so that a task run twice (Kafka
// redelivers after a crash or a rebalance) answers with what it issued the
// first time: every result is recorded in the ledger under the task id, and
// the recorded one is returned. It wraps ProcessTask, so every task kind gets
// it and handlers stay simple.
type ExactlyOnce struct {
	inner  ports.TaskProcessor
	ledger ports.IssuanceLedger
}

// NewExactlyOnce refuses missing dependencies.
func NewExactlyOnce(inner ports.TaskProcessor, ledger ports.IssuanceLedger) (*ExactlyOnce, error) {
	if inner == nil || ledger == nil {
		return nil, fmt.Errorf("exactly once: nil processor or ledger")
	}
	return &ExactlyOnce{inner: inner, ledger: ledger}, nil
}

// Process implements ports.TaskProcessor. A failed task is not recorded, so
// a retry may still succeed. When the ledger cannot be asked, the task fails
// rather than hand out a value that a redelivery could contradict.
func (e *ExactlyOnce) Process(ctx context.Context, task domain.Task) domain.Result {
	res := e.inner.Process(ctx, task)
	if res.Error != "" {
		return res
	}
	stored, err := e.ledger.Record(ctx, task.ID, res.Value)
	if err != nil {
		return domain.Result{TaskID: task.ID, Error: fmt.Sprintf("record issuance: %v", err)}
	}
	res.Value = stored
	return res
}
