package configs

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/configs/internal/keytree"
)

// logged returns the config as the binaries log it, decoded from JSON.
func logged(t *testing.T, cfg Config) map[string]any {
	t.Helper()
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("starting", "config", cfg)
	var line struct {
		Config map[string]any `json:"config"`
	}
	require.NoError(t, json.Unmarshal(buf.Bytes(), &line))
	return line.Config
}

// Every key of the struct is logged, under its own path, with no line of
// code written for it.
func TestLogValue_LogsEveryKeyOfTheStruct(t *testing.T) {
	cfg := logged(t, Default())
	for key := range fields(Default()) {
		var node any = cfg
		for part := range strings.SplitSeq(key, ".") {
			m, ok := node.(map[string]any)
			require.True(t, ok, "%s: %s is not a group", key, part)
			node, ok = m[part]
			require.True(t, ok, "the logged config lacks %s", key)
		}
	}
	assert.Equal(t, "{rps}:gate", cfg["gate"].(map[string]any)["key"])
	assert.Equal(t, "20µs", cfg["redis"].(map[string]any)["max_flush_delay"])
	assert.Equal(t, false, cfg["gate"].(map[string]any)["fail_open"])
	assert.InDelta(t, 4096, cfg["http"].(map[string]any)["body_limit"], 0)
}

// A key whose name says it may hold a credential must say how it is
// masked, or the log would print it.
func TestLogValue_CredentialKeysAreTaggedForMasking(t *testing.T) {
	for _, f := range keytree.Flatten(keytree.Tree("", reflect.ValueOf(Default()))) {
		if f.Value.Kind() != reflect.String {
			continue
		}
		for _, hint := range []string{"url", "password", "secret", "token", "credential"} {
			if strings.Contains(f.Name, hint) {
				assert.NotEmpty(t, f.Tag.Get("redact"), "%s may hold a credential: tag it redact:\"url\" or redact:\"value\"", f.Key)
			}
		}
	}
}
