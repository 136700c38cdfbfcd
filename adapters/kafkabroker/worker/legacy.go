package worker

import (
	"errors"
	"fmt"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker"
	"github.com/1000x-rps-server/rps-server/domain"
)

// This file lets the worker serve the Python original's servers during a
// migration: their tasks carry no headers, so no reply_to, and they read
// every reply from the shared results topic in their own shape.

// checkRoute accepts a task's reply route: a reply_to topic, or none (the
// original's task) when a results topic is configured to answer it on.
func (w *Runner) checkRoute(replyTo string) error {
	if replyTo == "" && w.cfg.ResultsTopic == "" {
		return fmt.Errorf("%w: no reply_to and no results topic configured", kafkabroker.ErrPoison)
	}
	return nil
}

// encodeReply makes the reply to a task: ours to its reply_to, or the
// original's shape on the results topic when it named none.
func (w *Runner) encodeReply(res domain.Result, replyTo string) (*kafka.Message, error) {
	if replyTo != "" {
		return kafkabroker.EncodeReply(res, replyTo)
	}
	w.metrics.legacy.Inc()
	if res.Error != "" {
		// The original's reply has no room for the reason: keep it here.
		w.cfg.Logger.Warn("task of the original failed; answered with a null result", "correlation_id", res.TaskID, "err", errors.New(res.Error))
	}
	return kafkabroker.EncodeLegacyReply(res, w.cfg.ResultsTopic)
}
