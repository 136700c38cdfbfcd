package problem

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEncode_IsJSONMarshal: the fast path writes the bytes json.Marshal
// writes, and whatever needs escaping (a client's path, a request id it
// sent) still gets it.
func TestEncode_IsJSONMarshal(t *testing.T) {
	texts := []string{"", "/queue", TypeBase + "fair-share", detailAtCapacity, "a\"b", `a\b`, "<script>", "a&b",
		"tab\there", "é", "\u2028", "\x7f"}
	for _, text := range texts {
		for _, other := range texts {
			for _, p := range []problem{
				{Type: text, Title: "Over fair share", Status: 429, Detail: other, Instance: "/queue", RequestID: "r-1"},
				{Type: "about:blank", Title: other, Status: 503, Detail: detailUnavailable, Instance: text, RequestID: other},
			} {
				want, err := json.Marshal(p)
				require.NoError(t, err)
				assert.Equal(t, string(want), string(encode(p)))
			}
		}
	}
}

// FuzzEncode does the same for any strings and status.
func FuzzEncode(f *testing.F) {
	f.Add("about:blank", "Too Many Requests", 429, detailAtCapacity, "/queue", "r-1")
	f.Add("x", "<y>", 499, "a\"b", "/\u2028", "é")
	f.Fuzz(func(t *testing.T, typ, title string, status int, detail, instance, id string) {
		p := problem{Type: typ, Title: title, Status: status, Detail: detail, Instance: instance, RequestID: id}
		want, err := json.Marshal(p)
		require.NoError(t, err)
		assert.Equal(t, string(want), string(encode(p)))
	})
}
