package kafkabroker

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func clients(t *testing.T, reply time.Duration, overrides map[string]string) Clients {
	t.Helper()
	logs := NewClientLogs(slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(logs.Close)
	return Clients{Bootstrap: "b:1", ReplyTimeout: reply, Overrides: overrides, Logs: logs}
}

func TestApply_PrefixedSettingsReachOnlyTheirKindOfClient(t *testing.T) {
	overrides := map[string]string{"linger.ms": "7", "producer.acks": "1", "consumer.fetch.wait.max.ms": "50"}
	p, c, err := WorkerClients(clients(t, 10*time.Second, overrides), "g")
	require.NoError(t, err)

	assert.Equal(t, "7", (*p)["linger.ms"])
	assert.Equal(t, "1", (*p)["acks"])
	assert.NotContains(t, *p, "consumer.fetch.wait.max.ms")
	assert.Equal(t, "50", (*c)["fetch.wait.max.ms"])
	assert.NotContains(t, *c, "acks")
	assert.NotContains(t, *c, "producer.acks")
}

// The timeouts that must fit inside or past the reply timeout follow it, so
// KAFKA_GIFT_CODE_TIMEOUT=2 or =60 gives a consistent system.
func TestClientTimeouts_FollowTheReplyTimeout(t *testing.T) {
	tests := []struct {
		reply            time.Duration
		message, session int // ms
	}{
		{reply: 10 * time.Second, message: 5000, session: 10000}, // the defaults: as before the derivation
		{reply: 2 * time.Second, message: 1000, session: 6000},   // Kafka's minimum session timeout
		{reply: 60 * time.Second, message: 30000, session: 60000},
		{reply: 2 * time.Hour, message: 3600000, session: 1800000}, // Kafka's maximum session timeout
		{reply: time.Millisecond, message: 1, session: 6000},       // never 0 ("forever")
	}
	for _, tt := range tests {
		t.Run(tt.reply.String(), func(t *testing.T) {
			wp, wc, err := WorkerClients(clients(t, tt.reply, nil), "g")
			require.NoError(t, err)
			rp, _, err := RequesterClients(clients(t, tt.reply, nil), "results.x")
			require.NoError(t, err)
			assert.Equal(t, tt.message, (*rp)["message.timeout.ms"], "a task that cannot be sent fails inside the reply timeout")
			assert.Equal(t, tt.message, (*wp)["message.timeout.ms"])
			assert.Equal(t, tt.session, (*wc)["session.timeout.ms"], "a silent worker loses its partitions at the reply timeout")
			assert.Less(t, (*wc)["heartbeat.interval.ms"], (*wc)["session.timeout.ms"])
		})
	}
}

func TestClientTimeouts_AnExplicitSettingWins(t *testing.T) {
	overrides := map[string]string{"producer.message.timeout.ms": "1234", "session.timeout.ms": "7000"}
	p, c, err := WorkerClients(clients(t, 60*time.Second, overrides), "g")
	require.NoError(t, err)
	assert.Equal(t, "1234", (*p)["message.timeout.ms"])
	assert.Equal(t, "7000", (*c)["session.timeout.ms"])
}

func TestClients_RefuseIncompleteSettings(t *testing.T) {
	for name, mutate := range map[string]func(*Clients){
		"no_bootstrap":     func(c *Clients) { c.Bootstrap = "" },
		"no_reply_timeout": func(c *Clients) { c.ReplyTimeout = 0 },
		"no_logs":          func(c *Clients) { c.Logs = nil },
	} {
		t.Run(name, func(t *testing.T) {
			c := clients(t, time.Second, nil)
			mutate(&c)
			_, _, err := RequesterClients(c, "results.x")
			require.Error(t, err)
			_, _, err = WorkerClients(c, "g")
			require.Error(t, err)
		})
	}
}

// (Unknown property names are refused when the client is made: see the
// constructors' tests.)

// Options the design depends on are set whatever the overrides say.
func TestWorkerClients_OffsetStoringIsNotOverridable(t *testing.T) {
	_, c, err := WorkerClients(clients(t, time.Second, map[string]string{"enable.auto.offset.store": "true"}), "g")
	require.NoError(t, err)
	assert.Equal(t, false, (*c)["enable.auto.offset.store"])
	assert.Equal(t, true, (*c)["enable.auto.commit"])
}
