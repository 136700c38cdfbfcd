package kafkabroker_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/requester"
	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/worker"
)

// Constructors take complete settings (the defaults live in configs) and
// refuse missing or bad ones before any network wait.
func TestNewRequester_RefusesAnIncompleteOrBadConfig(t *testing.T) {
	good := func() requester.Config {
		return requester.Config{
			Bootstrap: "127.0.0.1:1", TasksTopic: "tasks", ResultsTopic: "results", ReplyTimeout: replyTimeout,
			Logger: quiet, Registerer: prometheus.NewRegistry(),
		}
	}
	for name, mutate := range map[string]func(*requester.Config){
		"no_bootstrap":      func(c *requester.Config) { c.Bootstrap = "" },
		"no_tasks_topic":    func(c *requester.Config) { c.TasksTopic = "" },
		"no_results_topic":  func(c *requester.Config) { c.ResultsTopic = "" },
		"no_reply_timeout":  func(c *requester.Config) { c.ReplyTimeout = 0 },
		"no_logger":         func(c *requester.Config) { c.Logger = nil },
		"no_registerer":     func(c *requester.Config) { c.Registerer = nil },
		"bad_instance_id":   func(c *requester.Config) { c.InstanceID = "a b" },
		"bad_tasks_topic":   func(c *requester.Config) { c.TasksTopic = "t/1" },
		"unknown_property":  func(c *requester.Config) { c.Settings = map[string]string{"no.such.property": "1"} },
		"bad_property_type": func(c *requester.Config) { c.Settings = map[string]string{"producer.linger.ms": "soon"} },
		"consumer_property": func(c *requester.Config) {
			c.Settings = map[string]string{"consumer.fetch.wait.max.ms": "-5"}
		},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := good()
			mutate(&cfg)
			_, err := requester.New(cfg)
			require.Error(t, err)
		})
	}
}

func TestNewWorker_RefusesAnIncompleteOrBadConfig(t *testing.T) {
	good := func() worker.Config {
		return worker.Config{
			Bootstrap: "127.0.0.1:1", TasksTopic: "tasks", Group: "g", Concurrency: 1,
			DrainTimeout: time.Second, ReplyTimeout: replyTimeout, Logger: quiet, Registerer: prometheus.NewRegistry(),
		}
	}
	for name, mutate := range map[string]func(*worker.Config){
		"no_bootstrap":         func(c *worker.Config) { c.Bootstrap = "" },
		"no_tasks_topic":       func(c *worker.Config) { c.TasksTopic = "" },
		"no_group":             func(c *worker.Config) { c.Group = "" },
		"no_concurrency":       func(c *worker.Config) { c.Concurrency = 0 },
		"negative_concurrency": func(c *worker.Config) { c.Concurrency = -1 },
		"no_drain_timeout":     func(c *worker.Config) { c.DrainTimeout = 0 },
		"no_reply_timeout":     func(c *worker.Config) { c.ReplyTimeout = 0 },
		"no_logger":            func(c *worker.Config) { c.Logger = nil },
		"bad_tasks_topic":      func(c *worker.Config) { c.TasksTopic = ".." },
		"unknown_property":     func(c *worker.Config) { c.Settings = map[string]string{"consumer.no.such.property": "1"} },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := good()
			mutate(&cfg)
			_, err := worker.New(context.Background(), cfg, processorFunc(nil))
			require.Error(t, err)
		})
	}
	_, err := worker.New(context.Background(), good(), nil)
	require.Error(t, err, "nil processor")
}
