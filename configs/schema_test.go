package configs

import (
	"os"
	"testing"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/configs/internal/keytree"
)

// example.yaml is what users copy: it must name every key of the struct,
// each with its default, not only agree with the defaults on the keys it
// happens to name. A new key fails here until it is written there.
func TestExampleFile_NamesEveryKeyWithItsDefault(t *testing.T) {
	b, err := os.ReadFile("example.yaml")
	require.NoError(t, err)
	tree, err := yaml.Parser().Unmarshal(b)
	require.NoError(t, err)
	k := koanf.New(".")
	require.NoError(t, k.Load(confmap.Provider(tree, ""), nil))
	for key, def := range fields(Default()) {
		if !assert.True(t, k.Exists(key), "example.yaml lacks %s", key) {
			continue
		}
		got, ok := keytree.Coerce(k.Get(key), def.Type())
		if assert.True(t, ok, "example.yaml: %s is not %s", key, keytree.Describe(def.Type())) {
			assert.Equal(t, def.Interface(), got, "example.yaml: %s differs from the default", key)
		}
	}
	assert.True(t, k.Exists(keytree.SettingsKey), "example.yaml lacks %s", keytree.SettingsKey)
	assert.Empty(t, k.Get(keytree.SettingsKey), "example.yaml: %s differs from the default (none)", keytree.SettingsKey)
}
