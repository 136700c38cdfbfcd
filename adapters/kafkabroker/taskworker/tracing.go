package taskworker

import "context"

// sendTraced sends r under its producer span, "send <reply topic>", whose
// context the reply's headers carry back to the server. A retry of the same
// reply carries the same context.
func (w *Runner) sendTraced(ctx context.Context, r *reply, id string) {
	span := w.tracer.StartSend(ctx, r.msg, id)
	w.send(r)
	span.End()
}
