package keytree

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type sample struct {
	Store struct {
		URL      string        `koanf:"url" redact:"url"`
		Password string        `koanf:"password" redact:"value"`
		Key      string        `koanf:"key"`
		Timeout  time.Duration `koanf:"timeout"`
		Size     int           `koanf:"size"`
		On       bool          `koanf:"on"`
	} `koanf:"store"`
	Settings map[string]string `koanf:"settings"`
}

// Every value is followed by where it was set, secrets are masked, and
// what YAML would misread is quoted.
func TestWriteYAML(t *testing.T) {
	var s sample
	s.Store.URL = "redis://app:hunter2@cache:6379/0"
	s.Store.Password = "hunter2"
	s.Store.Key = "{rps}:gate"
	s.Store.Timeout = 250 * time.Millisecond
	s.Store.Size = 8
	s.Settings = map[string]string{"linger.ms": "5", "sasl.password": "hunter2"}
	origins := map[string]string{
		"store.password":         "RPS_STORE__PASSWORD_FILE in the environment",
		"store.size":             "file c.yaml",
		"settings.sasl.password": "RPS_KAFKA__SETTINGS__SASL_PASSWORD in the environment",
	}

	var b strings.Builder
	require.NoError(t, WriteYAML(&b, Tree("", reflect.ValueOf(s)), origins))

	assert.Equal(t, `store:
  url: redis://app:xxxxx@cache:6379/0  # default
  password: xxxxx             # RPS_STORE__PASSWORD_FILE in the environment
  key: '{rps}:gate'           # default
  timeout: 250ms              # default
  size: 8                     # file c.yaml
  on: false                   # default
settings:
  linger.ms: "5"              # default
  sasl.password: xxxxx        # RPS_KAFKA__SETTINGS__SASL_PASSWORD in the environment
`, b.String())
	assert.NotContains(t, b.String(), "hunter2")
}

func TestWriteYAML_EmptySettingsAndOddStrings(t *testing.T) {
	var s sample
	s.Store.Key = "two\nlines"
	var b strings.Builder
	require.NoError(t, WriteYAML(&b, Tree("", reflect.ValueOf(s)), nil))
	assert.Contains(t, b.String(), "\n  key: \"two\\nlines\"")
	assert.Contains(t, b.String(), "\n  password: \"\"")
	assert.Contains(t, b.String(), "\nsettings: {}\n")
}
