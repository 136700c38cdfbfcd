package kafkabroker

import (
	"testing"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/domain"
)

func TestTaskCodec_RoundTripKeepsTheOriginalsFieldNames(t *testing.T) {
	task := domain.Task{ID: "c-1", Kind: domain.KindGiftCode, RequestID: "r-1"}
	m, err := EncodeTask(task, "tasks", "results.a")
	require.NoError(t, err)
	assert.JSONEq(t, `{"action":"get_gift_code","correlation_id":"c-1","request_id":"r-1"}`, string(m.Value))
	assert.Nil(t, m.Key, "keyless, for the sticky partitioner")
	assert.Equal(t, []kafka.Header{{Key: headerReplyTo, Value: []byte("results.a")}}, m.Headers,
		"only what the body does not say: each header costs the producer two C allocations")

	back, replyTo, err := DecodeTask(m)
	require.NoError(t, err)
	assert.Equal(t, task, back)
	assert.Equal(t, "results.a", replyTo)
}

func TestReplyCodec_RoundTrip(t *testing.T) {
	for _, res := range []domain.Result{
		{TaskID: "c-1", Value: "GIFT-X"},
		{TaskID: "c-2", Error: "out of codes"},
	} {
		m, err := EncodeReply(res, "results.a")
		require.NoError(t, err)
		back, err := DecodeReply(m)
		require.NoError(t, err)
		assert.Equal(t, res, back)
	}
	m, _ := EncodeReply(domain.Result{TaskID: "c-1", Value: "GIFT-X"}, "results.a")
	assert.JSONEq(t, `{"correlation_id":"c-1","result":"GIFT-X"}`, string(m.Value))
	assert.Empty(t, m.Headers, "the body names the task")
}

// Earlier versions sent correlation_id on tasks and replies: still read,
// and still checked against the body.
func TestCodec_AnEarlierVersionsCorrelationHeaderIsChecked(t *testing.T) {
	task := &kafka.Message{
		Value:   []byte(`{"action":"get_gift_code","correlation_id":"c-1","request_id":"r-1"}`),
		Headers: []kafka.Header{{Key: headerCorrelationID, Value: []byte("c-1")}, {Key: "request_id", Value: []byte("r-1")}, {Key: headerReplyTo, Value: []byte("results.a")}},
	}
	got, replyTo, err := DecodeTask(task)
	require.NoError(t, err)
	assert.Equal(t, domain.Task{ID: "c-1", Kind: domain.KindGiftCode, RequestID: "r-1"}, got)
	assert.Equal(t, "results.a", replyTo)
	task.Headers[0].Value = []byte("c-2")
	_, _, err = DecodeTask(task)
	require.ErrorIs(t, err, ErrPoison)

	reply := &kafka.Message{Value: []byte(`{"correlation_id":"c-1","result":"GIFT-X"}`), Headers: []kafka.Header{{Key: headerCorrelationID, Value: []byte("c-1")}}}
	res, err := DecodeReply(reply)
	require.NoError(t, err)
	assert.Equal(t, domain.Result{TaskID: "c-1", Value: "GIFT-X"}, res)
	reply.Headers[0].Value = []byte("c-2")
	_, err = DecodeReply(reply)
	require.ErrorIs(t, err, ErrPoison)
}

func TestDecodeTask_PoisonIsRefused(t *testing.T) {
	good := []kafka.Header{{Key: headerReplyTo, Value: []byte("results.a")}}
	tests := []struct {
		name    string
		value   string
		headers []kafka.Header
	}{
		{name: "not_json", value: "not json", headers: good},
		{name: "empty", value: "", headers: good},
		{name: "unknown_field", value: `{"action":"get_gift_code","correlation_id":"c","x":1}`, headers: good},
		{name: "trailing_data", value: `{"action":"get_gift_code","correlation_id":"c"} {}`, headers: good},
		{name: "no_correlation_id", value: `{"action":"get_gift_code"}`, headers: good},
		{name: "bad_kind", value: `{"action":"Get Gift","correlation_id":"c"}`, headers: good},
		{name: "empty_reply_to", value: `{"action":"get_gift_code","correlation_id":"c"}`,
			headers: []kafka.Header{{Key: headerReplyTo, Value: nil}}},
		{name: "no_correlation_id_no_headers", value: `{"action":"get_gift_code"}`},
		{name: "not_json_no_headers", value: `{"action":`},
		{name: "bad_reply_to", value: `{"action":"get_gift_code","correlation_id":"c"}`,
			headers: []kafka.Header{{Key: headerReplyTo, Value: []byte("no spaces/allowed")}}},
		{name: "header_mismatch", value: `{"action":"get_gift_code","correlation_id":"c"}`,
			headers: append([]kafka.Header{{Key: headerCorrelationID, Value: []byte("other")}}, good...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := DecodeTask(&kafka.Message{Value: []byte(tt.value), Headers: tt.headers})
			require.ErrorIs(t, err, ErrPoison)
		})
	}
}

func TestDecodeReply_PoisonIsRefused(t *testing.T) {
	for name, value := range map[string]string{
		"not_json":          "{",
		"no_correlation_id": `{"result":"GIFT-X"}`,
		"unknown_field":     `{"correlation_id":"c","code":"GIFT-X"}`,
		"result_and_error":  `{"correlation_id":"c","result":"GIFT-X","error":"boom"}`,
		"trailing_data":     `{"correlation_id":"c","result":"GIFT-X"}x`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := DecodeReply(&kafka.Message{Value: []byte(value)})
			require.ErrorIs(t, err, ErrPoison)
		})
	}
}

// The original's task has no headers at all: it decodes, and its reply goes
// to the shared results topic (an empty reply_to).
func TestDecodeTask_TheOriginalsTaskWithoutHeaders(t *testing.T) {
	m := &kafka.Message{Value: []byte(`{"action":"get_gift_code","correlation_id":"6f1c2b7e-4a3d-4c21-8b0e-5d6f7a8b9c0d"}`)}
	task, replyTo, err := DecodeTask(m)
	require.NoError(t, err)
	assert.Equal(t, domain.Task{ID: "6f1c2b7e-4a3d-4c21-8b0e-5d6f7a8b9c0d", Kind: domain.KindGiftCode}, task)
	assert.Empty(t, replyTo)
}

func TestDecodeReply_TheOriginalsReplies(t *testing.T) {
	code := "GIFT-9F1C2B7E-4A3D-4C21-8B0E-5D6F7A8B9C0D"
	res, err := DecodeReply(&kafka.Message{Value: []byte(`{"correlation_id":"c","result":"` + code + `"}`)})
	require.NoError(t, err)
	assert.Equal(t, domain.Result{TaskID: "c", Value: code}, res)
	require.NoError(t, res.Err())

	res, err = DecodeReply(&kafka.Message{Value: []byte(`{"correlation_id":"c","result":null}`)})
	require.NoError(t, err)
	require.ErrorIs(t, res.Err(), domain.ErrTaskFailed, "a null result takes the error path (502)")
	assert.Empty(t, res.Value)
}

func TestEncodeLegacyReply_IsTheOriginalsShape(t *testing.T) {
	m, err := EncodeLegacyReply(domain.Result{TaskID: "c", Value: "GIFT-X"}, "results")
	require.NoError(t, err)
	assert.Equal(t, "results", *m.TopicPartition.Topic)
	assert.JSONEq(t, `{"correlation_id":"c","result":"GIFT-X"}`, string(m.Value))

	m, err = EncodeLegacyReply(domain.Result{TaskID: "c", Error: "unknown kind"}, "results")
	require.NoError(t, err)
	assert.JSONEq(t, `{"correlation_id":"c","result":null}`, string(m.Value), "an error is the original's null result")
	back, err := DecodeReply(m)
	require.NoError(t, err)
	require.ErrorIs(t, back.Err(), domain.ErrTaskFailed)
}

// A task decodes the same whatever valid JSON spells it: the fast path
// for the servers' own bytes and the JSON decoder for the rest agree.
func TestDecodeTask_AnySpellingOfOneTask(t *testing.T) {
	want := domain.Task{ID: "c-1", Kind: domain.KindGiftCode, RequestID: "r-1"}
	for name, value := range map[string]string{
		"ours":        `{"action":"get_gift_code","correlation_id":"c-1","request_id":"r-1"}`,
		"spaced":      `{"action": "get_gift_code", "correlation_id": "c-1", "request_id": "r-1"}`,
		"other_order": `{"request_id":"r-1","correlation_id":"c-1","action":"get_gift_code"}`,
		"escaped":     `{"action":"get_gift_code","correlation_id":"c\u002d1","request_id":"r-1"}`,
		"newline":     "{\"action\":\"get_gift_code\",\"correlation_id\":\"c-1\",\"request_id\":\"r-1\"}\n",
	} {
		t.Run(name, func(t *testing.T) {
			task, _, err := DecodeTask(&kafka.Message{Value: []byte(value)})
			require.NoError(t, err)
			assert.Equal(t, want, task)
		})
	}
}

// The fast paths take what our own servers and workers write: were they to
// refuse it (a field renamed, reordered), every message would pay the JSON
// decoder again while every other test still passed.
func TestFastPaths_TakeOurOwnBytes(t *testing.T) {
	task := domain.Task{ID: "0193f1a2-5b6c-7d8e-9f01-23456789abcd", Kind: domain.KindGiftCode, RequestID: "r-1"}
	m, err := EncodeTask(task, "tasks", "results.a")
	require.NoError(t, err)
	tm, ok := decodeTaskFast(m.Value)
	require.True(t, ok, "task %s", m.Value)
	assert.Equal(t, task.ID, tm.CorrelationID)

	m, err = EncodeReply(domain.Result{TaskID: task.ID, Value: "GIFT-ABC"}, "results.a")
	require.NoError(t, err)
	rm, ok := decodeReplyFast(m.Value)
	require.True(t, ok, "reply %s", m.Value)
	require.NotNil(t, rm.Result)
	assert.Equal(t, "GIFT-ABC", *rm.Result)
}
