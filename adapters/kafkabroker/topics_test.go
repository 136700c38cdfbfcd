package kafkabroker

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestValidTopic(t *testing.T) {
	long := make([]byte, maxTopicLen+1)
	for i := range long {
		long[i] = 'a'
	}
	for name, ok := range map[string]bool{
		"results.host-1_x": true, "": false, ".": false, "..": false, "a b": false, "a/b": false, string(long): false,
	} {
		assert.Equal(t, ok, ValidTopic(name) == nil, "%q", name)
	}
}

func TestSanitizeTopicPart_MakesAValidPartOfAName(t *testing.T) {
	got := SanitizeTopicPart("host.example/1 x")
	assert.Equal(t, "host_example_1_x", got)
	assert.NoError(t, ValidTopic("results."+got))
}
