package taskworker

import (
	"runtime"
	"sync"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker"
)

// maxRepliesPerMessage bounds a batch of replies: ~60 bytes each, so a
// batch stays far below any broker's message size limit.
const maxRepliesPerMessage = 256

// batcher gathers the replies that finish together and are bound for
// servers that read batches (kafkabroker.ReadsBatches) into one message per
// reply topic: one Produce, one delivery report and, on the server, one
// fetched message for them all, instead of one each. It holds no reply
// back by a timer: the task goroutine that queues the first reply of a
// batch yields once, so the tasks finishing at the same moment (a ledger
// flush answers several at once) queue theirs, and then sends what is
// queued. A lone reply goes out as it is.
type batcher struct {
	send  func(*reply)
	sizes func(n int) // observes the replies of each message sent

	mu       sync.Mutex
	queue    []*reply
	flushing bool // a task goroutine is about to send the queue
}

// add queues r; the call that finds no flush due sends the queue, r's
// included, after letting the other ready task goroutines queue theirs.
func (b *batcher) add(r *reply) {
	b.mu.Lock()
	b.queue = append(b.queue, r)
	first := !b.flushing
	b.flushing = true
	b.mu.Unlock()
	if !first {
		return
	}
	runtime.Gosched()
	b.mu.Lock()
	queued := b.queue
	b.queue, b.flushing = nil, false
	b.mu.Unlock()
	b.sendAll(queued)
}

// sendAll sends replies in as few messages as their topics and
// maxRepliesPerMessage allow.
func (b *batcher) sendAll(replies []*reply) {
	for _, group := range byTopic(replies) {
		for len(group) > 0 {
			n := min(len(group), maxRepliesPerMessage)
			b.sizes(n)
			b.send(joined(group[:n]))
			group = group[n:]
		}
	}
}

// byTopic splits replies by reply topic, keeping their order.
func byTopic(replies []*reply) [][]*reply {
	topic := func(r *reply) string { return *r.msg.TopicPartition.Topic }
	first := topic(replies[0])
	for _, r := range replies[1:] {
		if topic(r) != first {
			groups := map[string]int{}
			var out [][]*reply
			for _, r := range replies {
				i, ok := groups[topic(r)]
				if !ok {
					i = len(out)
					groups[topic(r)] = i
					out = append(out, nil)
				}
				out[i] = append(out[i], r)
			}
			return out
		}
	}
	return [][]*reply{replies} // the common case: one server
}

// joined is the message that carries replies, all bound for one topic: a
// lone reply as it is, several as one batch whose delivery settles each.
func joined(replies []*reply) *reply {
	if len(replies) == 1 {
		return replies[0]
	}
	msgs := make([]*kafka.Message, len(replies))
	for i, r := range replies {
		msgs[i] = r.msg
	}
	first := replies[0]
	return &reply{
		msg:     kafkabroker.EncodeReplyBatch(*first.msg.TopicPartition.Topic, msgs),
		members: replies, ticket: first.ticket, ctx: first.ctx,
	}
}
