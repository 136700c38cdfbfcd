package topics

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestValid(t *testing.T) {
	long := make([]byte, maxTopicLen+1)
	for i := range long {
		long[i] = 'a'
	}
	for name, ok := range map[string]bool{
		"results.host-1_x": true, "": false, ".": false, "..": false, "a b": false, "a/b": false, string(long): false,
	} {
		assert.Equal(t, ok, Valid(name) == nil, "%q", name)
	}
}

func TestSanitizePart_MakesAValidPartOfAName(t *testing.T) {
	got := SanitizePart("host.example/1 x")
	assert.Equal(t, "host_example_1_x", got)
	assert.NoError(t, Valid("results."+got))
}
