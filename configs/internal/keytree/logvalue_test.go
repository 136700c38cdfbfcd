package keytree

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRedact(t *testing.T) {
	assert.Equal(t, "redis://u:xxxxx@h:1/0", redact("url", "redis://u:pw@h:1/0"))
	assert.Equal(t, "xxxxx@h:1", redact("url", "redis://u:p%zz@h:1"), "a URL that does not parse is cut at the @")
	assert.Equal(t, "xxxxx", redact("value", "hunter2"))
	assert.Empty(t, redact("value", ""), "an empty secret shows as empty: it is unset, not hidden")
	assert.Equal(t, "plain", redact("", "plain"))
}
