package kafkabroker_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/requester"
	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/requester/workerwatch"
	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/taskworker"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/tests/infra"
)

// classic makes a worker join its group with the classic protocol, as the
// Python original's (aiokafka) and Java workers do.
func classic(c *taskworker.Config) {
	c.Settings = map[string]string{"consumer.group.protocol": "classic"}
}

// load sends requests from n goroutines until stopped, and counts what
// they got.
type load struct {
	ok, noWorkers, other atomic.Int64
	firstOther           atomic.Value // error
	stop                 context.CancelFunc
	wg                   sync.WaitGroup
	started              time.Time
	mu                   sync.Mutex
	refusedTenths        map[int64]bool // tenths of a second since start with a refusal in them
}

func startLoad(r *requester.Broker, n int) *load {
	ctx, cancel := context.WithCancel(context.Background())
	l := &load{stop: cancel, started: time.Now(), refusedTenths: map[int64]bool{}}
	for range n {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for ctx.Err() == nil {
				_, err := requestTask(r, newTask(), 10*time.Second)
				switch {
				case err == nil:
					l.ok.Add(1)
				case errors.Is(err, domain.ErrNoWorkers):
					l.noWorkers.Add(1)
					l.mu.Lock()
					l.refusedTenths[int64(time.Since(l.started)/(100*time.Millisecond))] = true
					l.mu.Unlock()
					time.Sleep(10 * time.Millisecond) // as a client honouring Retry-After would, briefly
				default:
					l.other.Add(1)
					l.firstOther.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	return l
}

func (l *load) end() {
	l.stop()
	l.wg.Wait()
}

// refusedFor is roughly how long requests were refused: the tenths of a
// second with a refusal in them.
func (l *load) refusedFor() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return time.Duration(len(l.refusedTenths)) * 100 * time.Millisecond
}

// A rolling restart of classic-protocol workers under load: every join and
// leave puts the group through a rebalance, during which its members hold
// no partitions, yet tasks sent then are served once it completes. The
// server must not refuse them as if no worker were there.
func TestWorkerWatch_ClassicRebalanceIsNotAnOutage(t *testing.T) {
	tp := newTopics(t)
	proc := giftProcessor(t)
	workers := []*runningWorker{startWorker(t, tp, proc, classic), startWorker(t, tp, proc, classic)}
	r, _ := newRequester(t, tp, watchGroups(tp.group)) // ready once it sees them

	l := startLoad(r, 8)
	started := time.Now()
	for round := range 3 {
		for i := range workers {
			workers[i].stop(t)
			workers[i] = startWorker(t, tp, proc, classic)
			t.Logf("round %d: worker %d restarted at %s", round, i, time.Since(started).Round(time.Millisecond))
			time.Sleep(time.Second)
		}
	}
	l.end()
	t.Logf("rolling restart of 2 classic workers ×3 under 8 callers, %s: %d answered, %d refused as no worker (503) within %s, %d other errors (first: %v)",
		time.Since(started).Round(time.Millisecond), l.ok.Load(), l.noWorkers.Load(), l.refusedFor(), l.other.Load(), l.firstOther.Load())
	assert.Zero(t, l.noWorkers.Load(), "a rebalance is not an outage: no request refused as if no worker were there")
	assert.Zero(t, l.other.Load(), "every request answered")
	assert.Positive(t, l.ok.Load())
}

// watchGroups makes the requester refuse requests at once while no member
// of groups consumes the tasks topic.
func watchGroups(groups ...string) func(*requester.Config) {
	return func(c *requester.Config) { c.Workers = workerwatch.Settings{Groups: groups} }
}

// A worker in a group of its own (a user's, a test's) is a worker: listed,
// it is watched like the default group; not listed, the server finds it
// while no listed group consumes, logs it once and serves requests.
func TestWorkerWatch_WorkerInAnotherGroup(t *testing.T) {
	tests := []struct {
		name   string
		listed bool
	}{{"listed", true}, {"found_unlisted", false}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp := newTopics(t)
			startWorker(t, tp, giftProcessor(t)) // its group is tp.group
			watched := []string{"not-the-workers-" + tp.group}
			if tt.listed {
				watched = append(watched, tp.group)
			}
			var logs infra.LogBuffer
			started := time.Now()
			r, _ := newRequester(t, tp, watchGroups(watched...), func(c *requester.Config) {
				c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			})
			t.Logf("ready %s after start", time.Since(started).Round(time.Millisecond))
			for range 20 {
				res, err := request(t, r, 10*time.Second)
				require.NoError(t, err, "a consuming worker is never refused")
				assert.True(t, domain.IsGiftCode(res.Value))
			}
			unwatched := strings.Count(logs.String(), "a consumer group that is not watched consumes the tasks topic")
			if tt.listed {
				assert.Zero(t, unwatched)
			} else {
				assert.Equal(t, 1, unwatched, "the unlisted group is logged once:\n%s", logs.String())
				assert.Contains(t, logs.String(), "group="+tp.group)
			}
		})
	}
}

// A worker of an unlisted group that starts while the server refuses for
// want of a worker is found within the discovery interval (5 s) and a poll.
func TestWorkerWatch_UnlistedWorkerStartingLaterIsFound(t *testing.T) {
	tp := newTopics(t)
	r, err := requester.New(requester.Config{
		Bootstrap: bootstrap(t), TasksTopic: tp.tasks, ResultsTopic: tp.results, TasksPartitions: 3,
		ReplyTimeout: replyTimeout, Logger: quiet, Registerer: prometheus.NewRegistry(),
		Workers: workerwatch.Settings{Groups: []string{"not-the-workers-" + tp.group}},
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		assert.NoError(t, r.Close(ctx))
	})
	require.Eventually(t, func() bool { return errors.Is(r.Ready(context.Background()), domain.ErrNoWorkers) }, 30*time.Second, 10*time.Millisecond,
		"no worker yet: refused")
	time.Sleep(time.Second) // past the first look for unlisted groups
	startWorker(t, tp, giftProcessor(t))
	joined := time.Now()
	require.Eventually(t, func() bool { return r.Ready(context.Background()) == nil }, 10*time.Second, 10*time.Millisecond,
		"the unlisted group is found")
	t.Logf("found %s after the worker joined", time.Since(joined).Round(time.Millisecond))
	_, err = request(t, r, 10*time.Second)
	require.NoError(t, err)
}

// Switched off (no group to watch), the server never refuses for want of a
// worker: a request waits for one.
func TestWorkerWatch_Off(t *testing.T) {
	tp := newTopics(t)
	r, _ := newRequester(t, tp, watchGroups()) // ready without any worker
	done := make(chan error, 1)
	go func() {
		_, err := request(t, r, 20*time.Second)
		done <- err
	}()
	time.Sleep(500 * time.Millisecond)
	startWorker(t, tp, giftProcessor(t))
	require.NoError(t, <-done, "the request sent before any worker was answered by the one that came")
}
