package kafkabroker_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/requester"
	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/taskworker"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/ports"
)

// Constructors take complete settings (the defaults live in configs) and
// refuse missing or bad ones before any network wait, with an error naming
// the setting. The "good" config points at a broker nobody runs, so each
// refusal is checked for its own message and for not being the outage.
func TestNewRequester_RefusesAnIncompleteOrBadConfig(t *testing.T) {
	good := func() requester.Config {
		return requester.Config{
			Bootstrap: closedPort(t), TasksTopic: "tasks", ResultsTopic: "results", ReplyTimeout: replyTimeout,
			Logger: quiet, Registerer: prometheus.NewRegistry(),
		}
	}
	r, err := requester.New(good())
	require.NoError(t, err, "the good config is accepted: a server may start before Kafka")
	require.NoError(t, r.Close(context.Background()))

	for name, tc := range map[string]struct {
		mutate func(*requester.Config)
		want   string
	}{
		"no_bootstrap":      {func(c *requester.Config) { c.Bootstrap = "" }, "no bootstrap servers"},
		"no_tasks_topic":    {func(c *requester.Config) { c.TasksTopic = "" }, "no tasks topic"},
		"no_results_topic":  {func(c *requester.Config) { c.ResultsTopic = "" }, "no results topic"},
		"no_reply_timeout":  {func(c *requester.Config) { c.ReplyTimeout = 0 }, "reply timeout must be positive"},
		"no_logger":         {func(c *requester.Config) { c.Logger = nil }, "logger and registerer are required"},
		"no_registerer":     {func(c *requester.Config) { c.Registerer = nil }, "logger and registerer are required"},
		"bad_instance_id":   {func(c *requester.Config) { c.InstanceID = "a b" }, "reply topic: invalid topic name"},
		"bad_tasks_topic":   {func(c *requester.Config) { c.TasksTopic = "t/1" }, "tasks topic: invalid topic name"},
		"unknown_property":  {func(c *requester.Config) { c.Settings = map[string]string{"no.such.property": "1"} }, "no.such.property"},
		"bad_property_type": {func(c *requester.Config) { c.Settings = map[string]string{"producer.linger.ms": "soon"} }, "queue.buffering.max.ms"}, // linger.ms is its alias
		"consumer_property": {func(c *requester.Config) {
			c.Settings = map[string]string{"consumer.fetch.wait.max.ms": "-5"}
		}, "fetch.wait.max.ms"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := good()
			tc.mutate(&cfg)
			_, err := requester.New(cfg)
			require.ErrorContains(t, err, tc.want)
			assert.NotErrorIs(t, err, domain.ErrUnavailable, "a bad setting, not the outage")
		})
	}
}

func TestNewWorker_RefusesAnIncompleteOrBadConfig(t *testing.T) {
	good := func() taskworker.Config {
		return taskworker.Config{
			Bootstrap: closedPort(t), TasksTopic: "tasks", Group: "g", Concurrency: 1,
			DrainTimeout: time.Second, ReplyTimeout: replyTimeout, Logger: quiet, Registerer: prometheus.NewRegistry(),
		}
	}
	// A refusal comes before any network wait; a setting the check let
	// through would meet the missing broker and fail with ErrUnavailable.
	newWorker := func(cfg taskworker.Config, proc ports.TaskProcessor) error {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		_, err := taskworker.New(ctx, cfg, proc)
		return err
	}
	require.ErrorIs(t, newWorker(good(), processorFunc(nil)), domain.ErrUnavailable,
		"the good config passes the checks and fails only on the missing broker")

	for name, tc := range map[string]struct {
		mutate func(*taskworker.Config)
		want   string
	}{
		"no_bootstrap":         {func(c *taskworker.Config) { c.Bootstrap = "" }, "no bootstrap servers"},
		"no_tasks_topic":       {func(c *taskworker.Config) { c.TasksTopic = "" }, "no tasks topic"},
		"no_group":             {func(c *taskworker.Config) { c.Group = "" }, "no consumer group"},
		"no_concurrency":       {func(c *taskworker.Config) { c.Concurrency = 0 }, "concurrency must be at least 1 (got 0)"},
		"negative_concurrency": {func(c *taskworker.Config) { c.Concurrency = -1 }, "concurrency must be at least 1 (got -1)"},
		"no_drain_timeout":     {func(c *taskworker.Config) { c.DrainTimeout = 0 }, "drain timeout must be positive"},
		"no_reply_timeout":     {func(c *taskworker.Config) { c.ReplyTimeout = 0 }, "reply timeout must be positive"},
		"no_logger":            {func(c *taskworker.Config) { c.Logger = nil }, "logger and registerer are required"},
		"no_registerer":        {func(c *taskworker.Config) { c.Registerer = nil }, "logger and registerer are required"},
		"bad_tasks_topic":      {func(c *taskworker.Config) { c.TasksTopic = ".." }, "tasks topic: invalid topic name"},
		"unknown_property": {func(c *taskworker.Config) {
			c.Settings = map[string]string{"consumer.no.such.property": "1"}
		}, "no.such.property"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := good()
			tc.mutate(&cfg)
			err := newWorker(cfg, processorFunc(nil))
			require.ErrorContains(t, err, tc.want)
			assert.NotErrorIs(t, err, domain.ErrUnavailable, "a bad setting, not the outage")
		})
	}
	require.EqualError(t, newWorker(good(), nil), "worker: nil processor")
}
