package kafkabroker

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/topics"
)

// FuzzDecodeTask feeds arbitrary task messages to the worker's decoder: it
// must never panic, must refuse what it cannot run as poison (so the worker
// skips it instead of retrying forever), and what it accepts must survive
// an encode and decode unchanged.
func FuzzDecodeTask(f *testing.F) {
	f.Add([]byte(`{"action":"get_gift_code","correlation_id":"c1","request_id":"r1"}`), "c1", "results.a")
	f.Add([]byte(`{"action":"get_gift_code","correlation_id":"c1"}`), "other", "results.a")
	f.Add([]byte(`{"action":"GET","correlation_id":"c1"}`), "", "")
	f.Add([]byte(`{"action":"get_gift_code","correlation_id":"c1"} {}`), "c1", "bad topic!")
	f.Add([]byte(`{"action":1}`), "", "r")
	f.Add([]byte(``), "", "")
	f.Fuzz(func(t *testing.T, value []byte, correlation, replyTo string) {
		m := &kafka.Message{Value: value, Headers: []kafka.Header{
			{Key: headerCorrelationID, Value: []byte(correlation)}, {Key: headerReplyTo, Value: []byte(replyTo)},
		}}
		task, to, err := DecodeTask(m)
		if err != nil {
			if !errors.Is(err, ErrPoison) {
				t.Fatalf("a refusal must be poison: %v", err)
			}
			return
		}
		if task.Validate() != nil || topics.Valid(to) != nil {
			t.Fatalf("accepted an invalid task %+v or reply topic %q", task, to)
		}
		again, err := EncodeTask(task, "tasks", to)
		if err != nil {
			t.Fatal(err)
		}
		got, gotTo, err := DecodeTask(again)
		if err != nil || got != task || gotTo != to {
			t.Fatalf("round trip: %+v %q %v, want %+v %q", got, gotTo, err, task, to)
		}
	})
}

// FuzzDecodeTaskFast checks the fast path against the strict decoder: what
// it accepts, the strict decoder accepts with the same fields.
func FuzzDecodeTaskFast(f *testing.F) {
	f.Add([]byte(`{"action":"get_gift_code","correlation_id":"c1","request_id":"r1"}`))
	f.Add([]byte(`{"action":"get_gift_code","correlation_id":"c1"}`))
	f.Add([]byte(`{"action":"a\"b","correlation_id":"c1"}`))
	f.Add([]byte(`{"action":"a","correlation_id":"c1"}x`))
	f.Add([]byte(`{"action":"a","correlation_id":"c1","request_id":""}`))
	f.Add([]byte(`{"action": "a", "correlation_id": "c1"}`))
	f.Fuzz(func(t *testing.T, value []byte) {
		fast, ok := decodeTaskFast(value)
		if !ok {
			return
		}
		var strict taskMessage
		if err := strictUnmarshal(value, &strict); err != nil {
			t.Fatalf("fast path accepted %q, the strict decoder refuses it: %v", value, err)
		}
		if fast != strict {
			t.Fatalf("%q: fast %+v, strict %+v", value, fast, strict)
		}
	})
}

// FuzzDecodeReplyFast checks the reply's fast path the same way.
func FuzzDecodeReplyFast(f *testing.F) {
	f.Add([]byte(`{"correlation_id":"c1","result":"GIFT-1"}`))
	f.Add([]byte(`{"correlation_id":"c1","result":""}`))
	f.Add([]byte(`{"correlation_id":"c1","result":"a\"b"}`))
	f.Add([]byte(`{"correlation_id":"c1","result":"a"} `))
	f.Add([]byte(`{"correlation_id": "c1", "result": "a"}`))
	f.Add([]byte(`{"correlation_id":"c1","error":"boom"}`))
	f.Fuzz(func(t *testing.T, value []byte) {
		fast, ok := decodeReplyFast(value)
		if !ok {
			return
		}
		var strict replyMessage
		if err := strictUnmarshal(value, &strict); err != nil {
			t.Fatalf("fast path accepted %q, the strict decoder refuses it: %v", value, err)
		}
		if fast.CorrelationID != strict.CorrelationID || fast.Error != strict.Error ||
			strict.Result == nil || *fast.Result != *strict.Result {
			t.Fatalf("%q: fast %+v, strict %+v", value, fast, strict)
		}
	})
}

// FuzzDecodeReply does the same for the server's reply decoder.
func FuzzDecodeReply(f *testing.F) {
	f.Add([]byte(`{"correlation_id":"c1","result":"GIFT-1"}`), "c1")
	f.Add([]byte(`{"correlation_id":"c1","error":"boom"}`), "")
	f.Add([]byte(`{"correlation_id":"c1","result":"a","error":"b"}`), "c1")
	f.Add([]byte(`{"correlation_id":""}`), "x")
	f.Add([]byte(`[]`), "")
	f.Fuzz(func(t *testing.T, value []byte, correlation string) {
		m := &kafka.Message{Value: value, Headers: []kafka.Header{{Key: headerCorrelationID, Value: []byte(correlation)}}}
		res, err := DecodeReply(m)
		if err != nil {
			if !errors.Is(err, ErrPoison) {
				t.Fatalf("a refusal must be poison: %v", err)
			}
			return
		}
		if res.TaskID == "" || (res.Value != "" && res.Error != "") {
			t.Fatalf("accepted an ambiguous reply %+v", res)
		}
		again, err := EncodeReply(res, "results.a")
		if err != nil {
			t.Fatal(err)
		}
		if got, err := DecodeReply(again); err != nil || got != res {
			t.Fatalf("round trip: %+v %v, want %+v", got, err, res)
		}
	})
}

// FuzzEncodeTaskValue checks the task encoder's fast path against
// encoding/json: the same bytes for any strings, so every worker, the
// original's included, reads what it always read.
func FuzzEncodeTaskValue(f *testing.F) {
	f.Add("get_gift_code", "0193f1a2-5b6c-7d8e-9f01-23456789abcd", "r1")
	f.Add("get_gift_code", "c1", "")
	f.Add("a<b", "c1", "r1") // encoding/json escapes <, > and & for HTML
	f.Add("a", "c\"1", "r\\1")
	f.Add("é", "\x00", "&")
	f.Fuzz(func(t *testing.T, action, correlation, requestID string) {
		sameAsJSON(t, encodeTaskValue, taskMessage{Action: action, CorrelationID: correlation, RequestID: requestID})
	})
}

// sameAsJSON fails t unless encode(v) writes what json.Marshal(v) does.
func sameAsJSON[T any](t *testing.T, encode func(T) ([]byte, error), v T) {
	t.Helper()
	got, err := encode(v)
	if err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("encoding %+v: %s, encoding/json writes %s", v, got, want)
	}
}

// FuzzEncodeReplyValue is FuzzEncodeTaskValue for replies, results and
// errors alike.
func FuzzEncodeReplyValue(f *testing.F) {
	f.Add("c1", "GIFT-ABCD-1234", "", true)
	f.Add("c1", "", "out of codes", false)
	f.Add("c1", "a&b", "", true)
	f.Add("c\"1", "a", "", true)
	f.Add("c1", "", "", true)
	f.Fuzz(func(t *testing.T, correlation, result, errText string, hasResult bool) {
		rm := replyMessage{CorrelationID: correlation, Error: errText}
		if hasResult {
			rm.Result = &result
		}
		sameAsJSON(t, encodeReplyValue, rm)
	})
}
