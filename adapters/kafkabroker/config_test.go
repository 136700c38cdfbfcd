package kafkabroker_test

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker"
)

func TestNewRequester_RefusesABadConfig(t *testing.T) {
	good := func() kafkabroker.RequesterConfig {
		return kafkabroker.RequesterConfig{Bootstrap: "127.0.0.1:1", Logger: quiet, Registerer: prometheus.NewRegistry()}
	}
	for name, mutate := range map[string]func(*kafkabroker.RequesterConfig){
		"no_bootstrap":      func(c *kafkabroker.RequesterConfig) { c.Bootstrap = "" },
		"no_logger":         func(c *kafkabroker.RequesterConfig) { c.Logger = nil },
		"no_registerer":     func(c *kafkabroker.RequesterConfig) { c.Registerer = nil },
		"bad_instance_id":   func(c *kafkabroker.RequesterConfig) { c.InstanceID = "a b" },
		"bad_tasks_topic":   func(c *kafkabroker.RequesterConfig) { c.TasksTopic = "t/1" },
		"unknown_property":  func(c *kafkabroker.RequesterConfig) { c.Settings = map[string]string{"no.such.property": "1"} },
		"bad_property_type": func(c *kafkabroker.RequesterConfig) { c.Settings = map[string]string{"producer.linger.ms": "soon"} },
		"consumer_property": func(c *kafkabroker.RequesterConfig) {
			c.Settings = map[string]string{"consumer.fetch.wait.max.ms": "-5"}
		},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := good()
			mutate(&cfg)
			_, err := kafkabroker.NewRequester(cfg)
			require.Error(t, err)
		})
	}
}

func TestNewWorker_RefusesABadConfig(t *testing.T) {
	good := func() kafkabroker.WorkerConfig {
		return kafkabroker.WorkerConfig{Bootstrap: "127.0.0.1:1", Logger: quiet, Registerer: prometheus.NewRegistry()}
	}
	for name, mutate := range map[string]func(*kafkabroker.WorkerConfig){
		"no_bootstrap":         func(c *kafkabroker.WorkerConfig) { c.Bootstrap = "" },
		"no_logger":            func(c *kafkabroker.WorkerConfig) { c.Logger = nil },
		"negative_concurrency": func(c *kafkabroker.WorkerConfig) { c.Concurrency = -1 },
		"bad_tasks_topic":      func(c *kafkabroker.WorkerConfig) { c.TasksTopic = ".." },
		"unknown_property":     func(c *kafkabroker.WorkerConfig) { c.Settings = map[string]string{"consumer.no.such.property": "1"} },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := good()
			mutate(&cfg)
			_, err := kafkabroker.NewWorker(context.Background(), cfg, processorFunc(nil))
			require.Error(t, err)
		})
	}
	_, err := kafkabroker.NewWorker(context.Background(), good(), nil)
	require.Error(t, err, "nil processor")
}
