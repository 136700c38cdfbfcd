package replytopics_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/requester/replytopics"
	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/topics"
)

// Every name an instance makes for itself is one its janitors recognise,
// and a valid topic name; two starts never share one.
func TestNewInstanceID_MakesNamesTheSchemeMatches(t *testing.T) {
	scheme := replytopics.NewScheme("rps.results")
	a, b := replytopics.NewInstanceID(), replytopics.NewInstanceID()
	assert.NotEqual(t, a, b)
	for _, id := range []string{a, b} {
		name := replytopics.Name("rps.results", id)
		require.NoError(t, topics.Valid(name))
		assert.True(t, scheme.Match(name), "%s is a reply topic of the scheme", name)
		assert.False(t, strings.Contains(id, "."), "the instance part has no dot: %s", id)
	}
}

// Only this deployment's reply topics match: never the shared results
// topic, a user's topic beside them, another deployment's reply topics, or
// a name that merely starts like one.
func TestScheme_MatchesOnlyThisDeploymentsReplyTopics(t *testing.T) {
	scheme := replytopics.NewScheme("results")
	for _, name := range []string{"results.web-1-12345-a1b2c3", "results.instance-7-000000", "results.host_example_com-42-ffffff"} {
		assert.True(t, scheme.Match(name), name)
	}
	for _, name := range []string{
		"results", "tasks", "results.audit", "results.web-1-12345-a1b2c3.x", "results.web.x-1-a1b2c3",
		"results.web-1-a1b2c3d", "results.web-1-A1B2C3", "results.web-x-a1b2c3", "results-web-1-a1b2c3",
		"results-v2.web-1-a1b2c3", "other.web-1-a1b2c3", "xresults.web-1-a1b2c3", "resultsXweb-1-a1b2c3",
	} {
		assert.False(t, scheme.Match(name), name)
	}
	assert.False(t, replytopics.NewScheme("a.b").Match("aXb.web-1-a1b2c3"), "the results name is literal, not a pattern")
}

// A live instance may miss two heartbeats in a row without losing its
// topic; anything tighter is refused, naming the setting at fault.
func TestCheckTiming_RefusesAGraceALiveInstanceCouldFallOutOf(t *testing.T) {
	require.NoError(t, replytopics.CheckTiming(10*time.Second, time.Minute), "the defaults")
	require.NoError(t, replytopics.CheckTiming(time.Second, 3*time.Second), "exactly three heartbeats")
	for name, tc := range map[string]struct {
		heartbeat, grace time.Duration
		setting, want    string
	}{
		"grace_under_three_heartbeats": {10 * time.Second, 29 * time.Second, "grace", "must be at least 3 heartbeats (30s), so a live instance may miss 2 in a row (got 29s)"},
		"heartbeat_too_short":          {50 * time.Millisecond, time.Minute, "heartbeat", "must be at least 100ms (got 50ms)"},
		"no_heartbeat":                 {0, time.Minute, "heartbeat", "must be at least 100ms (got 0s)"},
	} {
		t.Run(name, func(t *testing.T) {
			err := replytopics.CheckTiming(tc.heartbeat, tc.grace)
			var te *replytopics.TimingError
			require.ErrorAs(t, err, &te)
			assert.Equal(t, tc.setting, te.Setting)
			assert.Equal(t, tc.want, te.Problem)
		})
	}
}

// The bound docs/architecture.md states for the defaults.
func TestRemovalBound_WithTheDefaultsIsUnderTwoMinutes(t *testing.T) {
	assert.Equal(t, 15*time.Second, replytopics.PassEvery(time.Minute))
	assert.Equal(t, 97500*time.Millisecond, replytopics.RemovalBound(time.Minute))
}
