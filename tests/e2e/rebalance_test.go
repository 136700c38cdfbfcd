package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// requireClassicGroup checks that group runs the classic protocol: the
// rebalances this test is about are that protocol's.
func requireClassicGroup(t *testing.T, bootstrap, group string) {
	t.Helper()
	require.Equal(t, kafka.ConsumerGroupTypeClassic, groupType(t, bootstrap, group), "group %s", group)
}

// Workers of the classic group protocol (the original's aiokafka workers,
// Java workers) restarted one at a time under load: each leave and join is a
// rebalance during which the group's members hold no partitions, yet the
// tasks sent then are served once it completes, so the server keeps
// admitting requests (no fast 503 for want of a worker) and they are
// answered.
func TestRecovery_ClassicWorkersRestartedInTurnUnderLoad(t *testing.T) {
	in := needInfra(t)
	s := newStack(t, in, "RPS_KAFKA__SETTINGS__CONSUMER_GROUP_PROTOCOL=classic")
	s.startWorker(t)
	s.startWorker(t)
	base := s.startServer(t)
	requireClassicGroup(t, in.bootstrap, s.group())

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	tl, wait := loadUntil(ctx, base, 100, 400)
	time.Sleep(2 * time.Second)
	events := map[string]time.Time{}
	began := time.Now()
	for round := range 3 {
		for i := range 2 {
			events[fmt.Sprintf("stop%d.%d", round, i)] = time.Now()
			s.workers[i].stop(t, 30*time.Second)
			s.workers[i] = s.startWorker(t)
			s.workers = s.workers[:2] // startWorker appended the new one
			events[fmt.Sprintf("ready%d.%d", round, i)] = time.Now()
			time.Sleep(time.Second)
		}
	}
	ended := time.Now()
	time.Sleep(2 * time.Second)
	stop()
	wait()

	t.Logf("two classic workers restarted in turn three times from %.1fs to %.1fs; per-second statuses by start time:\n%s",
		began.Sub(tl.t0).Seconds(), ended.Sub(tl.t0).Seconds(), tl.table(events))
	statuses := map[int]int{}
	for _, c := range tl.startedIn(tl.t0, time.Now()) {
		statuses[c.status]++
	}
	t.Logf("statuses: %v", statuses)
	assert.Zero(t, statuses[http.StatusServiceUnavailable], "no request refused as if no worker were there")
	assert.Equal(t, len(tl.calls), statuses[http.StatusOK], "every request answered")
}
