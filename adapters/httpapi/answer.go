package httpapi

import (
	"encoding/json"

	"github.com/1000x-rps-server/rps-server/adapters/httpapi/internal/plainjson"
)

// encodeAnswer is the body of a 200 from /queue: {"<field>":value,
// "request_id":id}, field being gift_code (the original's shape) or result.
// Values that need no escaping (printable ASCII without quote, backslash or
// HTML's <, >, &: every code and generated id) are appended as they are;
// anything else goes through encoding/json, so the bytes are always what
// json.Marshal of the response struct writes (TestEncodeAnswer_IsJSONMarshal).
func encodeAnswer(field, value, id string) ([]byte, error) {
	if !plainjson.Plain(value) || !plainjson.Plain(id) {
		if field == fieldGiftCode {
			return json.Marshal(giftResponse{GiftCode: value, RequestID: id})
		}
		return json.Marshal(resultResponse{Result: value, RequestID: id})
	}
	b := make([]byte, 0, len(field)+len(value)+len(id)+len(`{"":"","request_id":""}`))
	b = append(b, `{"`...)
	b = append(b, field...)
	b = append(b, `":"`...)
	b = append(b, value...)
	b = append(b, `","request_id":"`...)
	b = append(b, id...)
	return append(b, `"}`...), nil
}

// JSON field names of the two answers.
const (
	fieldGiftCode = "gift_code"
	fieldResult   = "result"
)
