package kafkabroker

import (
	"encoding/json"
	"fmt"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/1000x-rps-server/rps-server/domain"
)

// legacyReply is the Python original's reply: a code, or null when its
// worker had none to give. It has no error field; its servers read only
// correlation_id and result.
type legacyReply struct {
	CorrelationID string  `json:"correlation_id"`
	Result        *string `json:"result"`
}

// EncodeLegacyReply makes the reply to a task of the Python original (one
// without reply_to) on its shared results topic: {"correlation_id", "result"}
// with result null for an error, as its worker answers an unknown action.
// The correlation_id header is added for our servers in shared mode; the
// original ignores headers.
func EncodeLegacyReply(res domain.Result, resultsTopic string) (*kafka.Message, error) {
	lr := legacyReply{CorrelationID: res.TaskID}
	if res.Error == "" {
		lr.Result = &res.Value
	}
	value, err := json.Marshal(lr)
	if err != nil {
		return nil, fmt.Errorf("encode legacy reply: %w", err)
	}
	return replyOn(resultsTopic, value), nil
}
