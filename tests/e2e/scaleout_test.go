package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/tests/metricstest"
)

// sampler polls the gate's own state in Redis while a load runs.
type sampler struct {
	max  atomic.Int64
	stop chan struct{}
	done chan struct{}
}

func sampleGate(t *testing.T, in infra, key string) *sampler {
	t.Helper()
	client := in.redis
	s := &sampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			select {
			case <-s.stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
			n, err := client.Do(context.Background(), client.B().Zcard().Key(key).Build()).AsInt64()
			if err == nil && n > s.max.Load() {
				s.max.Store(n)
			}
		}
	}()
	return s
}

func (s *sampler) finish() int64 {
	close(s.stop)
	<-s.done
	return s.max.Load()
}

// 3 servers and 2 workers share one Redis and one Kafka; 3,000 requests at
// 300 concurrency meet a gate of 100. The gate never holds more than 100,
// every answer that is not a 429 is a 200 with a code of its own, no reply
// reaches the wrong instance, each worker answers at least a fifth of the
// tasks (the producers' sticky partitioner spreads them over every
// partition), and the gate drains to 0.
func TestScaleOut_ThreeServersTwoWorkers(t *testing.T) {
	in := needInfra(t)
	s := newStack(t, in)
	workers := []*proc{s.startWorker(t), s.startWorker(t)}
	bases := []string{s.startServer(t), s.startServer(t), s.startServer(t)}

	var maxInUse [3]atomic.Int64
	stopScrape := make(chan struct{})
	scraped := make(chan struct{})
	go func() { // each instance's own view of the slots it holds
		defer close(scraped)
		for {
			select {
			case <-stopScrape:
				return
			case <-time.After(5 * time.Millisecond):
			}
			for i, b := range bases {
				if v := int64(metricstest.ScrapeQuiet(b, "rps_gate_slots_in_use")); v > maxInUse[i].Load() {
					maxInUse[i].Store(v)
				}
			}
		}
	}()
	gate := sampleGate(t, in, s.gateKey)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	o := runUsers(ctx, bases, 3000, 300)
	maxHeld := gate.finish()
	close(stopScrape)
	<-scraped

	t.Logf("statuses %v, max slots held in Redis %d, per instance %d/%d/%d", o.statuses, maxHeld,
		maxInUse[0].Load(), maxInUse[1].Load(), maxInUse[2].Load())
	require.Empty(t, o.errors)
	assert.LessOrEqual(t, maxHeld, int64(100), "the gate held more than its capacity")
	for i := range maxInUse {
		assert.LessOrEqual(t, maxInUse[i].Load(), int64(100))
	}
	assert.Equal(t, 3000, o.statuses[http.StatusOK]+o.statuses[http.StatusTooManyRequests], "only 200 and 429: %v", o.statuses)
	assert.Positive(t, o.statuses[http.StatusOK])
	assert.Len(t, o.codes, o.statuses[http.StatusOK])
	assert.Zero(t, o.duplicates())
	for _, b := range bases {
		assert.Zero(t, metricstest.Scrape(t, b, "rps_broker_late_replies_total"), "%s read a reply not meant for it", b)
	}
	var answered [2]float64
	for i, w := range workers {
		answered[i] = metricstest.Scrape(t, w.admin, `rps_worker_tasks_total{outcome="ok"}`)
		assert.GreaterOrEqual(t, answered[i], float64(o.statuses[http.StatusOK])/5,
			"worker %d answered under a fifth of the tasks: the load is not shared", i+1)
	}
	t.Logf("tasks answered per worker: %.0f / %.0f", answered[0], answered[1])
	gateDrains(t, in, s.gateKey, "the gate drains to 0")
}

// tasksPartitions is the tasks topic's partition count in the kill tests.
const tasksPartitions = 6

// servedPartitions lists the tasks partitions a worker has answered tasks
// of (its stored offset is past 0).
func servedPartitions(admin string) []int {
	var ps []int
	for p := range tasksPartitions {
		if metricstest.ScrapeQuiet(admin, fmt.Sprintf(`rps_worker_stored_offset{partition="%d"}`, p)) > 0 {
			ps = append(ps, p)
		}
	}
	return ps
}

// One of two workers is killed under steady load, once it has answered
// tasks of its own partitions. Its partitions move to the other worker;
// every 200 carries a code of its own; the dead worker's tasks are answered
// by the other or time out (504); and every code handed out is the one
// recorded for its task.
func TestScaleOut_WorkerKilledUnderLoad(t *testing.T) {
	in := needInfra(t)
	s := newStack(t, in, "RPS_KAFKA__TASKS_PARTITIONS="+strconv.Itoa(tasksPartitions))
	victim := s.startWorker(t)
	other := s.startWorker(t)
	base := s.startServer(t)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var o *outcome
	stop := make(chan struct{})
	loaded := make(chan struct{})
	go func() {
		defer close(loaded)
		o = runUsersUntil(ctx, []string{base}, stop, 50)
	}()
	defer func() { // on a failed require below, end the load before returning
		select {
		case <-stop:
		default:
			close(stop)
		}
		<-loaded
	}()

	// The victim holds tasks: it has answered some on partitions of its own.
	var held []int
	require.Eventually(t, func() bool {
		held = servedPartitions(victim.admin)
		return len(held) > 0 && metricstest.ScrapeQuiet(victim.admin, `rps_worker_tasks_total{outcome="ok"}`) >= 20
	}, time.Minute, 20*time.Millisecond, "the victim never took tasks")
	victim.kill()
	killed := time.Now()

	// Its partitions move to the other worker, which answers their tasks.
	require.Eventually(t, func() bool {
		return len(servedPartitions(other.admin)) == tasksPartitions
	}, time.Minute, 50*time.Millisecond, "the dead worker's partitions %v never moved to the other worker", held)
	t.Logf("the dead worker's partitions %v answered by the other worker %s after the kill", held, time.Since(killed).Round(time.Millisecond))
	close(stop)
	<-loaded

	t.Logf("statuses after killing a worker: %v", o.statuses)
	require.Empty(t, o.errors)
	for status := range o.statuses {
		assert.Contains(t, []int{http.StatusOK, http.StatusGatewayTimeout}, status, "statuses: %v", o.statuses)
	}
	assert.Zero(t, o.duplicates(), "a code was handed out twice")
	assert.Greater(t, o.statuses[http.StatusOK], 100)

	// The ledger holds exactly one code per task, and every code a client got
	// is one of them: a redelivered task answered with its first code.
	recorded := ledgerValues(t, in, s.ledgerPrefix)
	seen := map[string]bool{}
	for _, v := range recorded {
		assert.False(t, seen[v], "two tasks recorded the same code")
		seen[v] = true
	}
	for code := range o.codes {
		assert.True(t, seen[code], "code %s was handed out but not recorded", code)
	}
}

// A server instance is killed under load while it holds slots: the slots
// held at the kill are back within one lease of it, the other instance keeps
// serving, and nothing piles up.
func TestScaleOut_ServerKilledUnderLoad(t *testing.T) {
	in := needInfra(t)
	// A short lease (reply timeout 2 s + margin 1 s) keeps the test short; it
	// must cover the hold (reply timeout + release timeout 500 ms).
	const lease = 3 * time.Second
	s := newStack(t, in, "KAFKA_GIFT_CODE_TIMEOUT=2", "RPS_GATE__LEASE_MARGIN=1s", "RPS_GATE__RELEASE_TIMEOUT=500ms", "RPS_HTTP__REQUEST_TIMEOUT=5s")
	s.startWorker(t)
	survivor := s.startServer(t)
	s.startServer(t)
	victim := s.servers[1]

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var survivorOutcome *outcome
	stopSurvivor, stopVictim := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	// The survivor's load goes on until the check below ends: its acquires
	// are what prune expired leases.
	wg.Go(func() { survivorOutcome = runUsersUntil(ctx, []string{survivor}, stopSurvivor, 40) })
	wg.Go(func() { _ = runUsersUntil(ctx, []string{s.serverBy[victim]}, stopVictim, 40) }) // its clients see errors
	stopped := false
	stopLoad := func() {
		if !stopped {
			stopped = true
			close(stopSurvivor)
			close(stopVictim)
			wg.Wait()
		}
	}
	defer stopLoad()

	require.Eventually(t, func() bool {
		return metricstest.ScrapeQuiet(s.serverBy[victim], "rps_gate_slots_in_use") > 0
	}, time.Minute, 10*time.Millisecond, "the victim never held slots")
	victim.kill()
	killed := time.Now()
	atKill := gateMembers(t, in, s.gateKey)
	require.NotEmpty(t, atKill, "slots held at the kill")

	var back time.Duration
	require.Eventually(t, func() bool {
		if stillHeld(t, in, s.gateKey, atKill) > 0 {
			return false
		}
		back = time.Since(killed)
		return true
	}, 30*time.Second, 20*time.Millisecond, "the dead instance's slots never came back")
	t.Logf("%d slots held at the kill, all back %s after it (lease %s)", len(atKill), back.Round(time.Millisecond), lease)
	assert.Less(t, back, lease+2*time.Second, "the dead instance's slots return within one lease of the kill (+2 s for pruning and polling)")
	stopLoad()

	require.Empty(t, survivorOutcome.errors)
	assert.Equal(t, survivorOutcome.statuses[http.StatusOK], total(survivorOutcome), "the survivor kept serving: %v", survivorOutcome.statuses)
	assert.Zero(t, survivorOutcome.duplicates())
	require.Eventually(t, func() bool { return gateHeld(t, in, s.gateKey) == 0 }, 5*time.Second, 100*time.Millisecond, "the gate drains to 0")
	assert.Zero(t, metricstest.Scrape(t, survivor, "rps_broker_late_replies_total"), "the dead instance's replies never reach the survivor")
}

// gateMembers lists the slot ids held in the Redis gate.
func gateMembers(t *testing.T, in infra, key string) []string {
	t.Helper()
	c := in.redis
	ids, err := c.Do(context.Background(), c.B().Zrange().Key(key).Min("0").Max("-1").Build()).AsStrSlice()
	require.NoError(t, err)
	return ids
}

// stillHeld counts the ids that are still members of the gate.
func stillHeld(t *testing.T, in infra, key string, ids []string) int {
	t.Helper()
	c := in.redis
	scores, err := c.Do(context.Background(), c.B().Zmscore().Key(key).Member(ids...).Build()).ToArray()
	require.NoError(t, err)
	n := 0
	for i := range scores {
		if !scores[i].IsNil() {
			n++
		}
	}
	return n
}

func total(o *outcome) int {
	n := 0
	for _, c := range o.statuses {
		n += c
	}
	return n
}

// ledgerValues reads every code recorded by this test run's workers.
func ledgerValues(t *testing.T, in infra, prefix string) []string {
	t.Helper()
	c := in.redis
	ctx := context.Background()
	var values []string
	var cursor uint64
	for {
		entry, err := c.Do(ctx, c.B().Scan().Cursor(cursor).Match(prefix+"*").Count(1000).Build()).AsScanEntry()
		require.NoError(t, err)
		for _, k := range entry.Elements {
			v, err := c.Do(ctx, c.B().Get().Key(k).Build()).ToString()
			if err == nil {
				values = append(values, v)
			}
		}
		if cursor = entry.Cursor; cursor == 0 {
			return values
		}
	}
}
