package requester

import (
	"context"
	"errors"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"go.opentelemetry.io/otel/trace"

	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/observability"
)

// sendTraced sends msg under its producer span, "send <tasks topic>", whose
// context the task's headers carry to the worker.
func (r *Broker) sendTraced(ctx context.Context, msg *kafka.Message, id string) error {
	span := r.tracer.StartSend(ctx, msg, id)
	err := r.send(msg)
	observability.Fail(span, err)
	span.End()
	return err
}

// endWait ends the "reply wait" span: from the task's send until its reply,
// or the failure, reached the request.
func endWait(span trace.Span, res domain.Result, err error) {
	switch {
	case err != nil:
		observability.Fail(span, err)
	case res.Error != "":
		observability.Fail(span, errors.New(res.Error))
	}
	span.End()
}
