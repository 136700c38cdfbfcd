package configs

import (
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
		got, ok := coerce(k.Get(key), def.Type())
		if assert.True(t, ok, "example.yaml: %s is not %s", key, describe(def.Type())) {
			assert.Equal(t, def.Interface(), got, "example.yaml: %s differs from the default", key)
		}
	}
	assert.True(t, k.Exists(settingsKey), "example.yaml lacks %s", settingsKey)
	assert.Empty(t, k.Get(settingsKey), "example.yaml: %s differs from the default (none)", settingsKey)
}

func TestCoerce(t *testing.T) {
	str, boolean, integer, i64 := reflect.TypeFor[string](), reflect.TypeFor[bool](), reflect.TypeFor[int](), reflect.TypeFor[int64]()
	tests := []struct {
		name string
		raw  any
		to   reflect.Type
		want any
		ok   bool
	}{
		{"string", "x", str, "x", true},
		{"yaml_number_as_string", 123, str, "123", true},
		{"null_as_string", nil, str, "", true},
		{"list_as_string", []any{"a"}, str, nil, false},
		{"bool", true, boolean, true, true},
		{"bool_text", " TRUE ", boolean, true, true},
		{"bool_bad", "yes please", boolean, nil, false},
		{"int", 5, integer, 5, true},
		{"int_text", " 42 ", integer, 42, true},
		{"int_integral_float", 1000.0, integer, 1000, true},
		{"int_fraction", 1.5, integer, nil, false},
		{"int_largest_exact_float", float64(1<<53 - 1), integer, 1<<53 - 1, true},
		{"int_float_past_exact", float64(1 << 53), integer, nil, false},
		{"int_text_fraction", "1.5", integer, nil, false},
		{"int_null", nil, integer, nil, false},
		{"int64", "4096", i64, int64(4096), true},
		{"duration", "1m30s", durationType, 90 * time.Second, true},
		{"duration_zero_number", 0, durationType, time.Duration(0), true},
		{"duration_bare_number", 10, durationType, nil, false},
		{"duration_bare_text", "10", durationType, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := coerce(tt.raw, tt.to)
			assert.Equal(t, tt.ok, ok)
			if tt.ok {
				assert.Equal(t, tt.want, got)
			}
		})
	}
}

func TestSecondsToDuration(t *testing.T) {
	for in, want := range map[string]string{"10.0": "10s", "2.5": "2.5s", "0.25": "250ms", "10s": "10s", "NaN": "NaN", "1e300": "1e300", "1e20": "1e20"} {
		assert.Equal(t, want, secondsToDuration(in), in)
	}
}

func TestSuggest(t *testing.T) {
	keys := []string{"gate.capacity", "gate.key", "http.port"}
	assert.Equal(t, "gate.capacity", suggest("gate.capactiy", keys))
	assert.Equal(t, "http.port", suggest("http.prot", keys))
	assert.Empty(t, suggest("something.else", keys))
	assert.Equal(t, "gate.key", suggest("gate.kez", []string{"gate.key", "gate.kex"}), "a tie goes to the first candidate")
}

func TestEditDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "", 3}, {"", "abc", 3}, {"kitten", "sitting", 3}, {"flaw", "lawn", 2}, {"gate", "gate", 0}, {"ab", "ba", 2},
	} {
		assert.Equal(t, tt.want, editDistance(tt.a, tt.b), "%q → %q", tt.a, tt.b)
	}
}
