package compat_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/configs"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/tests/metricstest"
)

// Load of every set-up: the original's end-to-end test of 200 users, 50 at once.
const (
	requests    = 200
	concurrency = 50
)

// originalCodeLen is the length of the original's codes: "GIFT-" + a UUID.
const originalCodeLen = 41

// Workers first: the original's servers send tasks without reply_to; our
// worker answers each on the shared results topic in the original's shape.
func TestTheirServer_OurWorker(t *testing.T) {
	env := newEnv(t)
	startOurWorker(t, env)
	theirs := startTheirServer(t, env)

	got := drive(requests, concurrency, viaTheirServer(theirs))
	t.Log(got.summary("their server + our worker", requests))
	require.Len(t, got.codes, requests, "every task answered: %v", got.failures)
	assertDistinctCodes(t, got.codes)
	for _, c := range got.codes {
		require.True(t, domain.IsGiftCode(c), "a code of ours: %q", c)
	}
}

// Servers first: our server in shared mode hears the original's workers,
// which reply only on the shared results topic.
func TestOurSharedServer_TheirWorker(t *testing.T) {
	env := newEnv(t)
	theirs := startTheirWorker(t, env)
	ours := startOurServer(t, env, configs.ReplyModeShared)

	got := drive(requests, concurrency, viaOurServer(t, ours))
	t.Log(got.summary("our server (shared) + their worker", requests))
	require.Len(t, got.codes, requests, "200 x 200: %v", got.failures)
	assertDistinctCodes(t, got.codes)
	for _, c := range got.codes {
		require.True(t, domain.IsGiftCode(c), "%q", c)
		require.Len(t, c, originalCodeLen, "their worker's code: %q", c)
	}
	// Both counts move just after the reply is passed on, so a request can
	// be answered a moment before its count: wait for them, briefly.
	assert.Eventually(t, func() bool { return theirs.handled.Load() == requests }, time.Second, 5*time.Millisecond,
		"their worker handled every task: %d", theirs.handled.Load())
	assert.Eventually(t, func() bool {
		return metricstest.Value(t, ours.metrics, "rps_broker_shared_replies_total", "taken") == requests
	}, time.Second, 5*time.Millisecond, "every reply came through the shared topic")
}

// The original's worker answers a task it cannot run with a null result:
// our server takes the error path, 502, never a 200 without a code.
func TestOurSharedServer_TheirNullResultIs502(t *testing.T) {
	env := newEnv(t)
	startTheirWorkerKnowing(t, env, "some_other_action")
	ours := startOurServer(t, env, configs.ReplyModeShared)

	got := drive(5, 5, viaOurServer(t, ours))
	assert.Equal(t, map[string]int{"status 502": 5}, got.failures)
}

// Mid-migration: both kinds of worker in one group, both kinds of server on
// one tasks topic, all at once.
func TestMixedFleet(t *testing.T) {
	env := newEnv(t)
	startOurWorker(t, env)
	theirWorker := startTheirWorker(t, env)
	ours := startOurServer(t, env, configs.ReplyModeShared)
	theirServer := startTheirServer(t, env)

	oursDone := make(chan *tally)
	go func() { oursDone <- drive(requests, concurrency, viaOurServer(t, ours)) }()
	fromTheirs := drive(requests, concurrency, viaTheirServer(theirServer))
	fromOurs := <-oursDone
	t.Log(fromOurs.summary("mixed fleet, our server (shared)", requests))
	t.Log(fromTheirs.summary("mixed fleet, their server", requests))
	t.Logf("their worker handled %d of %d tasks", theirWorker.handled.Load(), 2*requests)

	assert.GreaterOrEqual(t, fromOurs.answered(requests), 99.0, "our server: %v", fromOurs.failures)
	assert.GreaterOrEqual(t, fromTheirs.answered(requests), 99.0, "their server: %v", fromTheirs.failures)
	assertDistinctCodes(t, append(fromOurs.codes, fromTheirs.codes...))
	assert.Positive(t, theirWorker.handled.Load(), "their worker took part")
	assert.Less(t, theirWorker.handled.Load(), int64(2*requests), "our worker took part")
}

// Where every party speaks our protocol, nothing changes: an instance in
// own mode (the default) reads only its own reply topic, even with a second
// instance and the original's traffic on the shared results topic.
func TestOwnMode_ReadsOnlyItsOwnTopic(t *testing.T) {
	env := newEnv(t)
	startOurWorker(t, env)
	first := startOurServer(t, env, configs.ReplyModeOwn)
	second := startOurServer(t, env, configs.ReplyModeOwn)
	theirs := startTheirServer(t, env) // its tasks are answered on the shared topic

	sides := make([]*tally, 3)
	var wg sync.WaitGroup
	wg.Go(func() { sides[1] = drive(requests, concurrency/2, viaOurServer(t, second)) })
	wg.Go(func() { sides[2] = drive(requests, concurrency/2, viaTheirServer(theirs)) })
	sides[0] = drive(requests, concurrency/2, viaOurServer(t, first))
	wg.Wait()
	t.Log(sides[2].summary("own mode, their server beside", requests))
	for i, s := range []*ourServer{first, second} {
		t.Log(sides[i].summary([]string{"own mode, first instance", "own mode, second instance"}[i], requests))
		assert.Len(t, sides[i].codes, requests, "every request answered: %v", sides[i].failures)
		assert.Zero(t, metricstest.Value(t, s.metrics, "rps_broker_late_replies_total", ""), "no reply of another instance reached it")
		assert.Zero(t, metricstest.Value(t, s.metrics, "rps_broker_bad_replies_total", ""))
		assert.Zero(t, metricstest.Value(t, s.metrics, "rps_broker_shared_replies_total", "ignored"), "the shared topic is not read")
		assert.Zero(t, metricstest.Value(t, s.metrics, "rps_broker_shared_replies_total", "taken"))
	}
	assertDistinctCodes(t, append(sides[0].codes, sides[1].codes...))
}

func assertDistinctCodes(t *testing.T, codes []string) {
	t.Helper()
	seen := make(map[string]bool, len(codes))
	for _, c := range codes {
		require.False(t, seen[c], "code %q issued twice", c)
		seen[c] = true
	}
}
