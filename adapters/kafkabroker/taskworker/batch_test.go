package taskworker

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker"
	"github.com/1000x-rps-server/rps-server/domain"
)

// sent records what a batcher sends: each message with the replies it
// settles.
type sent struct {
	mu   sync.Mutex
	msgs []*reply
}

func (s *sent) send(r *reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, r)
}

func newReply(t *testing.T, topic string, i int) *reply {
	t.Helper()
	msg, err := kafkabroker.EncodeReply(domain.Result{TaskID: fmt.Sprintf("%s-%d", topic, i), Value: "GIFT"}, topic)
	require.NoError(t, err)
	return &reply{msg: msg}
}

// checkSent asserts that every reply went out exactly once, in a message
// bound for its own topic that a server decodes to it, and returns how
// many messages carried them.
func checkSent(t *testing.T, s *sent, want []*reply) int {
	t.Helper()
	seen := map[*reply]int{}
	for _, m := range s.msgs {
		members := m.members
		if members == nil {
			members = []*reply{m}
		} else {
			require.LessOrEqual(t, len(members), maxRepliesPerMessage)
			require.Greater(t, len(members), 1, "a lone reply goes as it is")
		}
		topic := *m.msg.TopicPartition.Topic
		results, err := kafkabroker.DecodeReplyBatch(m.msg)
		if !kafkabroker.IsReplyBatch(m.msg) {
			var one domain.Result
			one, err = kafkabroker.DecodeReply(m.msg)
			results = []domain.Result{one}
		}
		require.NoError(t, err)
		require.Len(t, results, len(members))
		for i, r := range members {
			seen[r]++
			assert.Equal(t, topic, *r.msg.TopicPartition.Topic, "a batch holds one topic's replies")
			want, err := kafkabroker.DecodeReply(r.msg)
			require.NoError(t, err)
			assert.Equal(t, want, results[i], "the batch carries each reply as it was, in order")
		}
	}
	require.Len(t, seen, len(want))
	for _, r := range want {
		assert.Equal(t, 1, seen[r], "each reply sent exactly once")
	}
	return len(s.msgs)
}

// Replies finishing together, for two servers, leave in fewer messages
// than replies, each reply exactly once and in its own server's messages.
func TestBatcher_RepliesFinishingTogetherShareMessages(t *testing.T) {
	var s sent
	b := &batcher{send: s.send, sizes: func(int) {}}
	const n = 400
	var replies []*reply
	for i := range n {
		replies = append(replies, newReply(t, []string{"results.a-1-aaaaaa.batched", "results.b-2-bbbbbb.batched"}[i%2], i))
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for _, r := range replies {
		wg.Go(func() {
			<-start
			b.add(r)
		})
	}
	close(start)
	wg.Wait()
	msgs := checkSent(t, &s, replies)
	assert.Less(t, msgs, n, "replies queued while one was being sent share a message")
	assert.Empty(t, b.queue)
	assert.False(t, b.flushing)
}

// More replies than a message may hold go in several, per topic.
func TestBatcher_SplitsByTopicAndSize(t *testing.T) {
	var s sent
	b := &batcher{send: s.send, sizes: func(int) {}}
	var replies []*reply
	for i := range 2*maxRepliesPerMessage + 3 {
		replies = append(replies, newReply(t, "results.a-1-aaaaaa.batched", i))
	}
	replies = append(replies, newReply(t, "results.b-2-bbbbbb.batched", 0))
	b.sendAll(replies)
	assert.Equal(t, 4, checkSent(t, &s, replies), "256 + 256 + 3 for one server, the other's alone")
	assert.Len(t, s.msgs[0].members, maxRepliesPerMessage)
	assert.Nil(t, s.msgs[3].members, "a lone reply goes as it is")
}

// A lone reply goes at once, as it is.
func TestBatcher_ALoneReplyGoesAsItIs(t *testing.T) {
	var s sent
	b := &batcher{send: s.send, sizes: func(int) {}}
	r := newReply(t, "results.a-1-aaaaaa.batched", 0)
	b.add(r)
	require.Len(t, s.msgs, 1)
	assert.Same(t, r, s.msgs[0])
}
