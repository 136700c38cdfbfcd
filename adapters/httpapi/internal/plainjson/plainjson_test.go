package plainjson_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/adapters/httpapi/internal/plainjson"
)

// Plain holds exactly for the strings encoding/json writes as they are.
func FuzzPlain(f *testing.F) {
	for _, s := range []string{"GIFT-0123", "", "a\"b", `a\b`, "<x>", "a&b", "tab\t", "é", "\u2028", "\x7f", "/queue"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := json.Marshal(s)
		require.NoError(t, err)
		if plainjson.Plain(s) {
			assert.Equal(t, `"`+s+`"`, string(b), "a plain string is written as it is")
		}
	})
}
