package refusals_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/adapters/redis/redisgate/internal/refusals"
	"github.com/1000x-rps-server/rps-server/domain"
)

const span = 20 * time.Millisecond

var t0 = time.Date(2026, 12, 7, 4, 0, 0, 0, time.UTC)

func TestFull_LastsTheSpanThenAsksAgain(t *testing.T) {
	m := refusals.New(span)
	assert.False(t, m.RecallFull(t0), "nothing heard yet: ask Redis")
	m.RememberFull(t0, m.Mark())
	assert.True(t, m.RecallFull(t0.Add(span-time.Nanosecond)))
	assert.False(t, m.RecallFull(t0.Add(span)), "the span is over: ask Redis")
}

func TestFull_EachFreedSlotLetsOneTakeAsk(t *testing.T) {
	m := refusals.New(span)
	m.RememberFull(t0, m.Mark())
	m.Freed(2)
	assert.False(t, m.RecallFull(t0), "first free")
	assert.False(t, m.RecallFull(t0), "second free")
	assert.True(t, m.RecallFull(t0), "no free left: still full")
	m.Freed(1)
	assert.False(t, m.RecallFull(t0))
	m.RememberFull(t0, m.Mark()) // refused again: the frees before do not count
	assert.True(t, m.RecallFull(t0))
}

func TestASlotFreedWhileTheCallWasOnItsWayLetsOneAsk(t *testing.T) {
	m := refusals.New(span)
	mark := m.Mark()
	m.Freed(1) // freed before Redis answered: the refusal may predate it
	m.RememberFull(t0, mark)
	m.Remember("greedy", &domain.Refusal{Limit: domain.LimitFairShare}, t0, mark)
	assert.False(t, m.RecallFull(t0))
	assert.True(t, m.RecallFull(t0))
	_, ok := m.Recall("greedy", t0)
	assert.False(t, ok)
	_, ok = m.Recall("greedy", t0)
	assert.True(t, ok)
}

func TestClients_AreRememberedApart(t *testing.T) {
	m := refusals.New(span)
	share := &domain.Refusal{Limit: domain.LimitFairShare, Quota: domain.Quota{Limit: 9}}
	m.Remember("greedy", share, t0, m.Mark())

	got, ok := m.Recall("greedy", t0.Add(time.Millisecond))
	require.True(t, ok)
	assert.Equal(t, *share, *got)
	assert.NotSame(t, share, got, "each caller gets its own copy")
	_, ok = m.Recall("polite", t0.Add(time.Millisecond))
	assert.False(t, ok, "another client asks Redis")
	assert.False(t, m.RecallFull(t0), "a client's refusal is not the gate's")

	m.Freed(1)
	_, ok = m.Recall("greedy", t0.Add(time.Millisecond))
	assert.False(t, ok, "a freed slot lets the client ask")
	_, ok = m.Recall("greedy", t0.Add(2*time.Millisecond))
	assert.True(t, ok, "once")
	_, ok = m.Recall("greedy", t0.Add(span))
	assert.False(t, ok, "the span is over")
}

func TestRate_StandsUntilItsRetryWhateverIsFreed(t *testing.T) {
	m := refusals.New(span)
	m.Remember("paced", &domain.Refusal{Limit: domain.LimitRate, RetryAfter: 100 * time.Millisecond}, t0, m.Mark())
	m.Freed(5)
	got, ok := m.Recall("paced", t0.Add(60*time.Millisecond))
	require.True(t, ok, "a rate is lifted by time only, and lasts beyond the span")
	assert.Equal(t, 40*time.Millisecond, got.RetryAfter, "Retry-After counts down")
	_, ok = m.Recall("paced", t0.Add(100*time.Millisecond))
	assert.False(t, ok)
}

func TestClients_AreBoundedAndPruned(t *testing.T) {
	m := refusals.New(span)
	r := &domain.Refusal{Limit: domain.LimitFairShare}
	for i := range 5000 {
		m.Remember(fmt.Sprint("client-", i), r, t0, m.Mark())
	}
	_, ok := m.Recall("client-0", t0)
	assert.True(t, ok, "the first ones are remembered")
	_, ok = m.Recall("client-4999", t0)
	assert.False(t, ok, "past the bound a refusal is not remembered: the next one asks Redis")

	m.Prune(t0.Add(span))
	m.Remember("client-4999", r, t0.Add(span), m.Mark())
	_, ok = m.Recall("client-4999", t0.Add(span))
	assert.True(t, ok, "pruning the ended ones made room")
}

func TestFull_WhenTheSpanEndsOneAsksAndTheOthersWaitForItsAnswer(t *testing.T) {
	m := refusals.New(span)
	m.RememberFull(t0, m.Mark())
	end := t0.Add(span)
	assert.False(t, m.RecallFull(end), "one acquire asks Redis")
	assert.True(t, m.RecallFull(end.Add(time.Millisecond)), "the others are refused while it asks")
	assert.False(t, m.RecallFull(end.Add(span)), "no answer within a span: another asks")

	m.RememberFull(end.Add(span), m.Mark()) // Redis refused it again
	assert.True(t, m.RecallFull(end.Add(span+time.Millisecond)))

	m.ForgetFull() // the next one was granted a slot: everyone asks again
	assert.False(t, m.RecallFull(end.Add(span+time.Millisecond)))
	assert.False(t, m.RecallFull(end.Add(span+time.Millisecond)))
}

func TestClients_WhenTheSpanEndsOneAsksAndAnAdmissionForgets(t *testing.T) {
	m := refusals.New(span)
	m.Remember("greedy", &domain.Refusal{Limit: domain.LimitFairShare}, t0, m.Mark())
	_, ok := m.Recall("greedy", t0.Add(span))
	assert.False(t, ok, "one acquire asks Redis")
	_, ok = m.Recall("greedy", t0.Add(span))
	assert.True(t, ok, "the others wait for its answer")
	m.Forget("greedy") // admitted
	_, ok = m.Recall("greedy", t0.Add(span))
	assert.False(t, ok)
	_, ok = m.Recall("greedy", t0.Add(span))
	assert.False(t, ok, "forgotten: every acquire asks")
}
