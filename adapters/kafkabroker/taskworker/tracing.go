package taskworker

import (
	"context"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker"
)

// sendTraced sends r under its producer span, "send <reply topic>", whose
// context the reply's headers carry back to the server. A retry of the same
// reply carries the same context. A reply without headers (no trace to
// carry) to a server that reads batches joins the replies finishing with it
// (batcher); the others, and a reply the task follows with a dead letter,
// go alone.
func (w *Runner) sendTraced(ctx context.Context, r *reply, id string) {
	span := w.tracer.StartSend(ctx, r.msg, id)
	if r.then == nil && len(r.msg.Headers) == 0 && kafkabroker.ReadsBatches(*r.msg.TopicPartition.Topic) {
		w.batches.add(r)
	} else {
		w.send(r)
	}
	span.End()
}
