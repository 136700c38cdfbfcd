package kafkabroker

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/topics"
	"github.com/1000x-rps-server/rps-server/domain"
)

// Header names. A task carries reply_to, the one thing its body does not
// say; correlation_id (on tasks and replies) and request_id (on tasks) are
// only read, from senders that set them (earlier versions did): each header
// sent costs two C allocations through cgo per message, and both are in the
// body already.
const (
	headerCorrelationID = "correlation_id"
	headerReplyTo       = "reply_to"
)

// ErrPoison marks a message that can never be processed.
var ErrPoison = errors.New("poison message")

// taskMessage keeps the original's field names, so its users recognise it.
type taskMessage struct {
	Action        string `json:"action"`
	CorrelationID string `json:"correlation_id"`
	RequestID     string `json:"request_id,omitempty"`
}

// replyMessage carries either a result or an error. Result is a pointer so
// the original's "result": null (its worker had no code to give) is told
// apart from an empty result.
type replyMessage struct {
	CorrelationID string  `json:"correlation_id"`
	Result        *string `json:"result,omitempty"`
	Error         string  `json:"error,omitempty"`
}

// ErrNoResult is the error of a reply that carries neither a result nor an
// error, as the original's worker answers a task it cannot run
// ({"result": null}); it takes the error reply path (502).
const ErrNoResult = "worker answered without a result"

// EncodeTask makes the message for task, whose reply goes to replyTo.
func EncodeTask(task domain.Task, tasksTopic, replyTo string) (*kafka.Message, error) {
	value, err := encodeTaskValue(taskMessage{Action: string(task.Kind), CorrelationID: task.ID, RequestID: task.RequestID})
	if err != nil {
		return nil, fmt.Errorf("encode task: %w", err)
	}
	// No key: keyless messages take librdkafka's sticky partitioner, which
	// fills one partition's batch at a time instead of spreading every
	// batch over all partitions. Under load that halved the broker's CPU
	// per task (benchmarks/README.md); nothing reads the key, and workers
	// still share the partitions over time (the partition moves every
	// sticky.partitioning.linger.ms).
	return &kafka.Message{
		TopicPartition: kafka.TopicPartition{Topic: &tasksTopic, Partition: kafka.PartitionAny},
		Value:          value,
		Headers:        []kafka.Header{{Key: headerReplyTo, Value: []byte(replyTo)}},
	}, nil
}

// DecodeTask returns the task and the topic its reply goes to, or an error
// wrapping ErrPoison. A task without a reply_to header (the Python
// original's, which sends no headers) returns an empty topic: its reply goes
// to the shared results topic in the original's shape (EncodeLegacyReply).
func DecodeTask(m *kafka.Message) (domain.Task, string, error) {
	tm, ok := decodeTaskFast(m.Value)
	if !ok {
		if err := strictUnmarshal(m.Value, &tm); err != nil {
			return domain.Task{}, "", fmt.Errorf("%w: %w", ErrPoison, err)
		}
	}
	task := domain.Task{ID: tm.CorrelationID, Kind: domain.Kind(tm.Action), RequestID: tm.RequestID}
	if err := task.Validate(); err != nil {
		return domain.Task{}, "", fmt.Errorf("%w: %w", ErrPoison, err)
	}
	if id, ok := headerBytes(m, headerCorrelationID); ok && string(id) != task.ID {
		return domain.Task{}, "", fmt.Errorf("%w: %s header %q differs from the body's %q", ErrPoison, headerCorrelationID, id, task.ID)
	}
	replyTo, ok := header(m, headerReplyTo)
	if !ok {
		return task, "", nil // the original's task: answered on the shared results topic
	}
	if err := topics.Valid(replyTo); err != nil {
		return domain.Task{}, "", fmt.Errorf("%w: %s header: %w", ErrPoison, headerReplyTo, err)
	}
	return task, replyTo, nil
}

// EncodeReply makes the message that answers res.TaskID on replyTo.
func EncodeReply(res domain.Result, replyTo string) (*kafka.Message, error) {
	rm := replyMessage{CorrelationID: res.TaskID, Error: res.Error}
	if res.Error == "" {
		rm.Result = &res.Value
	}
	value, err := encodeReplyValue(rm)
	if err != nil {
		return nil, fmt.Errorf("encode reply: %w", err)
	}
	return replyOn(replyTo, value), nil
}

// replyOn is the message that carries value, the reply to a task, to topic:
// no header, the body says which task it answers.
func replyOn(topic string, value []byte) *kafka.Message {
	return &kafka.Message{
		TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
		Value:          value,
	}
}

// DecodeReply returns the reply in m, or an error wrapping ErrPoison.
func DecodeReply(m *kafka.Message) (domain.Result, error) {
	rm, ok := decodeReplyFast(m.Value)
	if !ok {
		if err := strictUnmarshal(m.Value, &rm); err != nil {
			return domain.Result{}, fmt.Errorf("%w: %w", ErrPoison, err)
		}
	}
	switch id, ok := headerBytes(m, headerCorrelationID); {
	case rm.CorrelationID == "":
		return domain.Result{}, fmt.Errorf("%w: reply without correlation_id", ErrPoison)
	case ok && string(id) != rm.CorrelationID:
		return domain.Result{}, fmt.Errorf("%w: %s header %q differs from the body's %q", ErrPoison, headerCorrelationID, id, rm.CorrelationID)
	case rm.Result != nil && rm.Error != "":
		return domain.Result{}, fmt.Errorf("%w: reply with both result and error", ErrPoison)
	case rm.Result == nil && rm.Error == "":
		return domain.Result{TaskID: rm.CorrelationID, Error: ErrNoResult}, nil
	case rm.Result == nil:
		return domain.Result{TaskID: rm.CorrelationID, Error: rm.Error}, nil
	}
	return domain.Result{TaskID: rm.CorrelationID, Value: *rm.Result}, nil
}

// encodeTaskValue is json.Marshal(tm), byte for byte, without its
// reflection when every string is plain (encodePlain): the task every
// request sends.
func encodeTaskValue(tm taskMessage) ([]byte, error) {
	if !encodePlain(tm.Action) || !encodePlain(tm.CorrelationID) || !encodePlain(tm.RequestID) {
		return json.Marshal(tm)
	}
	b := make([]byte, 0, 64+len(tm.Action)+len(tm.CorrelationID)+len(tm.RequestID))
	b = append(append(append(b, `{"action":"`...), tm.Action...), `","correlation_id":"`...)
	b = append(append(b, tm.CorrelationID...), '"')
	if tm.RequestID != "" {
		b = append(append(append(b, `,"request_id":"`...), tm.RequestID...), '"')
	}
	return append(b, '}'), nil
}

// encodeReplyValue is json.Marshal(rm), byte for byte, without its
// reflection for a result of plain strings: the reply every request waits
// for. An error reply takes encoding/json.
func encodeReplyValue(rm replyMessage) ([]byte, error) {
	if rm.Result == nil || rm.Error != "" || !encodePlain(rm.CorrelationID) || !encodePlain(*rm.Result) {
		return json.Marshal(rm)
	}
	b := make([]byte, 0, 32+len(rm.CorrelationID)+len(*rm.Result))
	b = append(append(append(b, `{"correlation_id":"`...), rm.CorrelationID...), `","result":"`...)
	return append(append(b, *rm.Result...), `"}`...), nil
}

// encodePlain reports whether encoding/json writes s as it is between
// quotes: printable ASCII without a quote, a backslash or the characters
// it escapes for HTML (<, >, &).
func encodePlain(s string) bool {
	for i := range len(s) {
		switch c := s[i]; {
		case c < 0x20 || c > 0x7e, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}

// decodeTaskFast reads a task in exactly the bytes EncodeTask writes, with
// plain strings (printable ASCII, nothing escaped): the shape of every task
// our servers send, read without the reflection of encoding/json. Anything
// else (the original's spaced JSON, escapes, other key order) returns false
// and goes to strictUnmarshal, which accepts what this accepts, with the
// same values (FuzzDecodeTaskFast).
func decodeTaskFast(data []byte) (tm taskMessage, ok bool) {
	rest, ok := bytes.CutPrefix(data, []byte(`{"action":"`))
	if ok {
		tm.Action, rest, ok = plainString(rest)
	}
	if ok {
		rest, ok = bytes.CutPrefix(rest, []byte(`,"correlation_id":"`))
	}
	if ok {
		tm.CorrelationID, rest, ok = plainString(rest)
	}
	if after, found := bytes.CutPrefix(rest, []byte(`,"request_id":"`)); ok && found {
		tm.RequestID, rest, ok = plainString(after)
	}
	if !ok || len(rest) != 1 || rest[0] != '}' {
		return taskMessage{}, false
	}
	return tm, true
}

// decodeReplyFast reads a successful reply in exactly the bytes EncodeReply
// writes for it, {"correlation_id":"…","result":"…"} with plain strings: the
// reply every request waits for, read without encoding/json's reflection.
// Anything else returns false and goes to strictUnmarshal, which accepts
// what this accepts, with the same values (FuzzDecodeReplyFast).
func decodeReplyFast(data []byte) (rm replyMessage, ok bool) {
	rest, ok := bytes.CutPrefix(data, []byte(`{"correlation_id":"`))
	if ok {
		rm.CorrelationID, rest, ok = plainString(rest)
	}
	if ok {
		rest, ok = bytes.CutPrefix(rest, []byte(`,"result":"`))
	}
	var result string
	if ok {
		result, rest, ok = plainString(rest)
	}
	if !ok || len(rest) != 1 || rest[0] != '}' {
		return replyMessage{}, false
	}
	rm.Result = &result
	return rm, true
}

// plainString reads a JSON string's body up to its closing quote when it
// needs no decoding: printable ASCII with no backslash.
func plainString(b []byte) (s string, rest []byte, ok bool) {
	for i, c := range b {
		switch {
		case c == '"':
			return string(b[:i]), b[i+1:], true
		case c < 0x20 || c > 0x7e || c == '\\':
			return "", nil, false
		}
	}
	return "", nil, false
}

// strictUnmarshal accepts exactly one JSON object with known fields only.
func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("decode: data after the JSON object")
	}
	return nil
}

// header returns the value of the first header named key.
func header(m *kafka.Message, key string) (string, bool) {
	v, ok := headerBytes(m, key)
	return string(v), ok
}

// headerBytes is header without the copy, for a comparison.
func headerBytes(m *kafka.Message, key string) ([]byte, bool) {
	for _, h := range m.Headers {
		if h.Key == key {
			return h.Value, true
		}
	}
	return nil, false
}
