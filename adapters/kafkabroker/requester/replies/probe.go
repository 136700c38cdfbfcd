package replies

import (
	"context"
	"fmt"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker"
	"github.com/1000x-rps-server/rps-server/domain"
)

// ProbePrefix starts the correlation id of a probe. A probe that comes back
// after its deadline (sent while Kafka was down) is not a late reply.
const ProbePrefix = "probe-"

// Prove sends a reply to this instance and waits for it, within timeout:
// proof that the whole reply path (produce with send, fetch, dispatch)
// works; in shared mode through the shared results topic too.
func (r *Router) Prove(lifetime context.Context, timeout time.Duration, send func(*kafka.Message) error) error {
	ctx, cancel := context.WithTimeout(lifetime, timeout)
	defer cancel()
	if err := r.probeOwn(ctx, timeout, send); err != nil {
		return err
	}
	if r.cfg.SharedTopic != "" {
		return r.probeShared(ctx, send)
	}
	return nil
}

// ProveOwn is Prove through the instance's own reply topic only: the
// heartbeat, a record in that topic that also proves it is still there.
func (r *Router) ProveOwn(lifetime context.Context, timeout time.Duration, send func(*kafka.Message) error) error {
	ctx, cancel := context.WithTimeout(lifetime, timeout)
	defer cancel()
	return r.probeOwn(ctx, timeout, send)
}

// probeOwn proves the instance's own reply topic: it sends a reply to
// itself with send and waits for it. A delivery that failed comes back as
// the probe's error (a topic gone: kafkabroker.IsUnknownTopic).
func (r *Router) probeOwn(ctx context.Context, timeout time.Duration, send func(*kafka.Message) error) error {
	id := ProbePrefix + kafkabroker.RandomHex(8)
	ch, err := r.slot(id)
	if err != nil {
		return err
	}
	defer r.pending.Delete(id)
	msg, err := kafkabroker.EncodeReply(domain.Result{TaskID: id, Value: "probe"}, r.cfg.OwnTopic)
	if err != nil {
		return err
	}
	msg.Opaque = id
	if err := send(msg); err != nil {
		return fmt.Errorf("requester: probe: %w", err)
	}
	select {
	case o := <-ch:
		return o.Err
	case <-ctx.Done():
		return fmt.Errorf("requester: probe: no reply within %s: %w", timeout, domain.ErrUnavailable)
	}
}
