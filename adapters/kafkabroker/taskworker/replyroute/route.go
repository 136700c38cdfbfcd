// Package replyroute decides where and in which shape the worker answers a
// task: ours to the topic its reply_to names or, for a task of the Python
// original (no reply_to), the original's shape on the shared results topic.
package replyroute

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker"
	"github.com/1000x-rps-server/rps-server/domain"
)

// Route lets the worker serve the Python original's servers during a
// migration: their tasks carry no headers, so no reply_to, and they read
// every reply from the shared results topic in their own shape.
type Route struct {
	resultsTopic string             // empty: tasks without reply_to are poison
	legacy       prometheus.Counter // tasks answered in the original's shape
	log          *slog.Logger
}

// New returns the route answering the original's tasks on resultsTopic
// (none when empty), counting them in legacy.
func New(resultsTopic string, legacy prometheus.Counter, log *slog.Logger) Route {
	return Route{resultsTopic: resultsTopic, legacy: legacy, log: log}
}

// Check accepts a task's reply route: a reply_to topic, or none (the
// original's task) when a results topic is configured to answer it on.
func (r Route) Check(replyTo string) error {
	if replyTo == "" && r.resultsTopic == "" {
		return fmt.Errorf("%w: no reply_to and no results topic configured", kafkabroker.ErrPoison)
	}
	return nil
}

// Encode makes the reply to a task: ours to its reply_to, or the
// original's shape on the results topic when it named none.
func (r Route) Encode(res domain.Result, replyTo string) (*kafka.Message, error) {
	if replyTo != "" {
		return kafkabroker.EncodeReply(res, replyTo)
	}
	r.legacy.Inc()
	if res.Error != "" {
		// The original's reply has no room for the reason: keep it here.
		r.log.Warn("task of the original failed; answered with a null result", "correlation_id", res.TaskID, "err", errors.New(res.Error))
	}
	return kafkabroker.EncodeLegacyReply(res, r.resultsTopic)
}
