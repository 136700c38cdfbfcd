package envnames

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSecondsToDuration(t *testing.T) {
	for in, want := range map[string]string{"10.0": "10s", "2.5": "2.5s", "0.25": "250ms", "10s": "10s", "NaN": "NaN", "1e300": "1e300", "1e20": "1e20"} {
		assert.Equal(t, want, SecondsToDuration(in), in)
	}
}
