package replytopics_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/mock/gomock"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/requester/replytopics"
	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/requester/replytopics/replytopicsmocks"
	"github.com/1000x-rps-server/rps-server/tests/metricstest"
)

// The janitor's decision rule, against a mocked Admin answering from a
// cluster held in the test, on a clock the test moves. Delete is expected
// only where a test says so: deleting any other topic fails the test.

const (
	grace = time.Minute
	pass  = 15 * time.Second // PassEvery(grace)
	own   = "results.me-1-000000"
	dead  = "results.dead-2-aaaaaa"
	live  = "results.live-3-bbbbbb"
	// readTakes is how long each read of the offsets takes: a watch starts
	// at the far end of the read that saw a change, so with passes every
	// 15 s a silent topic is due at the fifth pass after it was first seen
	// (60 s after that read was asked, less readTakes, is not yet the grace).
	readTakes = 40 * time.Millisecond
)

// cluster is what the mocked Admin answers from.
type cluster struct {
	now      time.Time
	topics   map[string]replytopics.Look
	unmarked map[string]bool
	lookErr  error           // the next Look fails with it
	hidden   map[string]bool // left out of the next Look
	looked   []string        // every name Look was asked for
	marks    map[string]int  // Marked calls per topic
	onMark   func(topic string)
}

func (c *cluster) advance(d time.Duration) { c.now = c.now.Add(d) }

// write appends a record to topic: its end moves.
func (c *cluster) write(topic string) {
	l := c.topics[topic]
	l.End++
	c.topics[topic] = l
}

type harness struct {
	c       *cluster
	admin   *replytopicsmocks.MockAdmin
	janitor *replytopics.Janitor
	reg     *prometheus.Registry
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// metrics makes a janitor's metrics, registered in reg as "deleted" and "seen".
func metrics(reg *prometheus.Registry) (prometheus.Counter, prometheus.Gauge) {
	deleted := prometheus.NewCounter(prometheus.CounterOpts{Name: "deleted"})
	seen := prometheus.NewGauge(prometheus.GaugeOpts{Name: "seen"})
	reg.MustRegister(deleted, seen)
	return deleted, seen
}

func newHarness(t *testing.T, topics ...string) *harness {
	t.Helper()
	c := &cluster{
		now: time.Unix(1_000_000, 0), topics: map[string]replytopics.Look{},
		unmarked: map[string]bool{}, hidden: map[string]bool{}, marks: map[string]int{},
	}
	for _, name := range topics {
		c.topics[name] = replytopics.Look{ID: "id-" + name}
	}
	admin := replytopicsmocks.NewMockAdmin(gomock.NewController(t))
	admin.EXPECT().Topics(gomock.Any()).AnyTimes().DoAndReturn(func(context.Context) ([]string, error) {
		names := make([]string, 0, len(c.topics))
		for name := range c.topics {
			names = append(names, name)
		}
		return names, nil
	})
	admin.EXPECT().Look(gomock.Any(), gomock.Any()).AnyTimes().DoAndReturn(func(_ context.Context, names []string) (map[string]replytopics.Look, error) {
		c.looked = append(c.looked, names...)
		c.advance(readTakes)
		if err := c.lookErr; err != nil {
			c.lookErr = nil
			return nil, err
		}
		out := map[string]replytopics.Look{}
		for _, name := range names {
			if l, ok := c.topics[name]; ok && !c.hidden[name] {
				out[name] = l
			}
		}
		clear(c.hidden)
		return out, nil
	})
	admin.EXPECT().Marked(gomock.Any(), gomock.Any()).AnyTimes().DoAndReturn(func(_ context.Context, name string) (bool, error) {
		c.marks[name]++
		if c.onMark != nil {
			c.onMark(name)
		}
		return !c.unmarked[name], nil
	})
	h := &harness{c: c, admin: admin, reg: prometheus.NewRegistry()}
	deleted, seen := metrics(h.reg)
	h.janitor = replytopics.NewJanitor(admin, replytopics.Config{
		Scheme: replytopics.NewScheme("results"), Own: own, Grace: grace, Logger: quiet(),
		Deleted: deleted, Topics: seen, Now: func() time.Time { return c.now },
	})
	return h
}

// expectDelete lets the janitor delete topic once, from the cluster.
func (h *harness) expectDelete(topic string) *gomock.Call {
	return h.admin.EXPECT().Delete(gomock.Any(), topic).Times(1).DoAndReturn(func(context.Context, string) (bool, error) {
		delete(h.c.topics, topic)
		return true, nil
	})
}

// run makes n passes, one every `every` (start to start); between(i), if
// set, runs before pass i.
func (h *harness) run(t *testing.T, n int, every time.Duration, between func(i int)) {
	t.Helper()
	for i := range n {
		if between != nil {
			between(i)
		}
		start := h.c.now
		require.NoError(t, h.janitor.Pass(context.Background()))
		h.c.now = start.Add(every)
	}
}

// keptThenDeleted makes n passes after which topic must still be there,
// then one more that must delete it.
func (h *harness) keptThenDeleted(t *testing.T, topic string, n int, why string) {
	t.Helper()
	h.run(t, n, pass, nil)
	require.Contains(t, h.c.topics, topic, why)
	h.expectDelete(topic)
	h.run(t, 1, pass, nil)
	assert.NotContains(t, h.c.topics, topic)
}

func (h *harness) deleted(t *testing.T) float64 { return metricstest.Value(t, h.reg, "deleted", "") }

// Two janitors that find the same topic due both delete it; only the one
// whose call deleted it counts it, so the fleet's sum is one per topic.
func TestJanitor_CountsOnlyWhatItsOwnCallDeleted(t *testing.T) {
	h := newHarness(t, own, dead)
	require.NoError(t, h.janitor.Pass(context.Background()))
	h.c.advance(grace)
	h.admin.EXPECT().Delete(gomock.Any(), dead).Times(1).DoAndReturn(func(context.Context, string) (bool, error) {
		delete(h.c.topics, dead) // another instance's janitor was first
		return false, nil
	})
	require.NoError(t, h.janitor.Pass(context.Background()))
	assert.NotContains(t, h.c.topics, dead)
	assert.Zero(t, h.deleted(t), "not this janitor's deletion")
}

func TestJanitor_DeletesATopicNoRecordReachedForTheGrace(t *testing.T) {
	h := newHarness(t, own, dead)
	require.NoError(t, h.janitor.Pass(context.Background())) // its watch starts as this read answers
	h.c.advance(grace - time.Millisecond)
	require.NoError(t, h.janitor.Pass(context.Background()))
	assert.Contains(t, h.c.topics, dead, "silent for just under the grace: kept")

	h.expectDelete(dead) // the clock is past the grace now: the last read took readTakes
	require.NoError(t, h.janitor.Pass(context.Background()))
	assert.NotContains(t, h.c.topics, dead)
	assert.Equal(t, 1.0, h.deleted(t))
	assert.Equal(t, 1.0, metricstest.Value(t, h.reg, "seen", ""), "its own topic is left")
}

// A live instance writes a heartbeat every 10 s, a quarter of them lost
// here; however long the janitor watches, its topic stays.
func TestJanitor_NeverDeletesATopicThatIsWrittenTo(t *testing.T) {
	h := newHarness(t, own, live)
	h.run(t, int(20*grace/time.Second), time.Second, func(i int) {
		if i%10 == 0 && i%40 != 0 {
			h.c.write(live)
		}
	})
	assert.Contains(t, h.c.topics, live)
}

// An instance paused (SIGSTOP, a long GC pause, cut off from Kafka) for
// just under the grace, again and again, keeps its topic across the
// janitor's passes (one a second here): each heartbeat starts the watch
// again, so pauses never add up.
func TestJanitor_KeepsAPausedInstancesTopicWhileEachPauseIsUnderTheGrace(t *testing.T) {
	h := newHarness(t, own, live)
	every := grace/time.Second - 1 // passes between two heartbeats: 59 s
	h.run(t, int(10*every), time.Second, func(i int) {
		if i%int(every) == 0 {
			h.c.write(live)
		}
	})
	assert.Contains(t, h.c.topics, live)
}

// A topic made a moment ago, with no record yet, gets the whole grace from
// the moment the janitor first saw it, like one seen from the start.
func TestJanitor_GivesANewEmptyTopicTheGraceFromFirstSight(t *testing.T) {
	h := newHarness(t, own)
	h.run(t, 10, pass, nil)
	h.c.topics[dead] = replytopics.Look{ID: "new", End: 0}
	h.keptThenDeleted(t, dead, 5, "empty, but seen for less than the grace")
}

// A topic deleted and made again under its name (its instance resumed
// after a pause longer than the grace) is a new topic, even where its end
// equals the old one's: the watch goes by the topic's id.
func TestJanitor_WatchesATopicMadeAgainAfresh(t *testing.T) {
	h := newHarness(t, own, live)
	h.run(t, 3, pass, nil)
	h.c.topics[live] = replytopics.Look{ID: "made-again", End: 0}
	h.run(t, 4, pass, nil) // the fifth pass since the old topic was first seen would have deleted it
	assert.Contains(t, h.c.topics, live)
	assert.Zero(t, h.c.marks[live], "never due")
}

// A pass that cannot read the offsets forgets every watch: silence seen
// before a gap in what the janitor saw proves nothing.
func TestJanitor_StartsItsWatchesAgainAfterAFailedRead(t *testing.T) {
	h := newHarness(t, own, dead)
	h.run(t, 4, pass, nil)
	h.c.lookErr = errors.New("broker unreachable")
	require.Error(t, h.janitor.Pass(context.Background()))
	h.c.advance(pass)
	h.keptThenDeleted(t, dead, 5, "the grace is counted again from the first read after the failure")
}

// A topic missing from one read (its partition had no leader) loses its
// watch, as with a failed pass.
func TestJanitor_StartsAWatchAgainWhenItsTopicWasNotRead(t *testing.T) {
	h := newHarness(t, own, dead)
	h.run(t, 4, pass, nil)
	h.c.hidden[dead] = true
	h.keptThenDeleted(t, dead, 6, "the grace is counted again from the read after the one that missed it")
}

// Only this deployment's reply topics are ever read or deleted, and never
// the instance's own, however long they stand still.
func TestJanitor_LeavesEveryOtherTopicAlone(t *testing.T) {
	others := []string{"results", "tasks", "results.audit", "results.dead-2-aaaaaa.x", "other.dead-2-aaaaaa", "results-v2.dead-2-aaaaaa"}
	h := newHarness(t, append(others, own)...)
	h.run(t, 20, pass, nil)
	for _, name := range append(others, own) {
		assert.Contains(t, h.c.topics, name)
	}
	assert.Empty(t, h.c.looked, "none of them is even read")
	assert.Equal(t, 1.0, metricstest.Value(t, h.reg, "seen", ""), "its own topic is counted")
}

// A reply topic without this version's mark (an older server's, which
// sends no heartbeat) is never deleted, and its mark is asked for once.
func TestJanitor_LeavesATopicWithoutTheMarkAlone(t *testing.T) {
	h := newHarness(t, own, dead)
	h.c.unmarked[dead] = true
	h.run(t, 20, pass, nil)
	assert.Contains(t, h.c.topics, dead)
	assert.Equal(t, 1, h.c.marks[dead])
	assert.Equal(t, []string{dead}, slices.Compact(h.c.looked), "still watched, in case it is made again")
}

// A record that reaches a due topic between the pass and the delete (its
// instance just resumed) keeps it.
func TestJanitor_KeepsADueTopicWrittenToBeforeTheDelete(t *testing.T) {
	h := newHarness(t, own, live)
	h.c.onMark = func(topic string) {
		h.c.write(topic)
		h.c.onMark = nil
	}
	h.run(t, 7, pass, nil)
	assert.Contains(t, h.c.topics, live)
	assert.Equal(t, 1, h.c.marks[live], "due once, then watched afresh")
}

// A delete that fails (no permission, a timeout) is tried again at the
// next pass, and counted only once it succeeds.
func TestJanitor_TriesAFailedDeleteAgain(t *testing.T) {
	h := newHarness(t, own, dead)
	h.run(t, 5, pass, nil)
	gomock.InOrder(
		h.admin.EXPECT().Delete(gomock.Any(), dead).Times(1).Return(false, errors.New("TOPIC_AUTHORIZATION_FAILED")),
		h.expectDelete(dead),
	)
	h.run(t, 1, pass, nil)
	assert.Equal(t, 0.0, h.deleted(t))
	h.run(t, 1, pass, nil)
	assert.NotContains(t, h.c.topics, dead)
	assert.Equal(t, 1.0, h.deleted(t))
}

// Run passes on its own schedule until its context ends, makes none while
// Kafka is out of reach, and deletes a silent topic within RemovalBound of
// its first pass.
func TestJanitor_RunPassesUntilItsContextEnds(t *testing.T) {
	const short = 200 * time.Millisecond
	admin := replytopicsmocks.NewMockAdmin(gomock.NewController(t))
	reg := prometheus.NewRegistry()
	deleted, seen := metrics(reg)
	j := replytopics.NewJanitor(admin, replytopics.Config{
		Scheme: replytopics.NewScheme("results"), Own: own, Grace: short, Logger: quiet(), Deleted: deleted, Topics: seen,
	})
	gone := make(chan struct{})
	var reachable atomic.Bool
	admin.EXPECT().Topics(gomock.Any()).AnyTimes().DoAndReturn(func(context.Context) ([]string, error) {
		assert.True(t, reachable.Load(), "no pass while Kafka is out of reach")
		select {
		case <-gone:
			return []string{own}, nil
		default:
			return []string{own, dead}, nil
		}
	})
	admin.EXPECT().Look(gomock.Any(), []string{dead}).AnyTimes().Return(map[string]replytopics.Look{dead: {ID: "x", End: 3}}, nil)
	admin.EXPECT().Marked(gomock.Any(), dead).Return(true, nil)
	admin.EXPECT().Delete(gomock.Any(), dead).DoAndReturn(func(context.Context, string) (bool, error) { close(gone); return true, nil })

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		j.Run(ctx, reachable.Load)
	}()
	time.Sleep(replytopics.RemovalBound(short))
	reachable.Store(true)
	from := time.Now()
	select {
	case <-gone:
		assert.LessOrEqual(t, time.Since(from), replytopics.RemovalBound(short)+2*time.Second, "the bound, give or take a loaded machine")
	case <-time.After(10 * replytopics.RemovalBound(short)):
		t.Fatal("the silent topic was never deleted")
	}
	cancel()
	<-done
	assert.Equal(t, 1.0, metricstest.Value(t, reg, "deleted", ""))
}
