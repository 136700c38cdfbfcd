package httpapi

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEncodeAnswer_IsJSONMarshal: the fast path writes the bytes
// json.Marshal writes, and whatever needs escaping still gets it.
func TestEncodeAnswer_IsJSONMarshal(t *testing.T) {
	values := []string{"GIFT-0193F1A2-5B6C-7D8E-9F01-23456789ABCD", "", "a\"b", `a\b`, "<script>", "a&b",
		"tab\there", "é", "\u2028", "\x7f", "0193f1a2-5b6c-7d8e-9f01-23456789abce"}
	for _, value := range values {
		for _, id := range values {
			want, err := json.Marshal(giftResponse{GiftCode: value, RequestID: id})
			require.NoError(t, err)
			got, err := encodeAnswer(fieldGiftCode, value, id)
			require.NoError(t, err)
			assert.Equal(t, string(want), string(got))

			want, err = json.Marshal(resultResponse{Result: value, RequestID: id})
			require.NoError(t, err)
			got, err = encodeAnswer(fieldResult, value, id)
			require.NoError(t, err)
			assert.Equal(t, string(want), string(got))
		}
	}
}

// FuzzEncodeAnswer does the same for any pair of strings, in either shape.
func FuzzEncodeAnswer(f *testing.F) {
	f.Add("GIFT-1", "r-1", true)
	f.Add("a\"b", "<x>", false)
	f.Fuzz(func(t *testing.T, value, id string, gift bool) {
		field := fieldResult
		var v any = resultResponse{Result: value, RequestID: id}
		if gift {
			field, v = fieldGiftCode, giftResponse{GiftCode: value, RequestID: id}
		}
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := encodeAnswer(field, value, id)
		if err != nil || string(got) != string(want) {
			t.Fatalf("encodeAnswer(%q, %q) = %q, %v; json.Marshal: %q", value, id, got, err, want)
		}
	})
}
