package keytree

import (
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

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
		{"duration", "1m30s", DurationType, 90 * time.Second, true},
		{"duration_zero_number", 0, DurationType, time.Duration(0), true},
		{"duration_bare_number", 10, DurationType, nil, false},
		{"duration_bare_text", "10", DurationType, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Coerce(tt.raw, tt.to)
			assert.Equal(t, tt.ok, ok)
			if tt.ok {
				assert.Equal(t, tt.want, got)
			}
		})
	}
}

func TestSuggest(t *testing.T) {
	names := []string{"gate.capacity", "gate.key", "http.port"}
	assert.Equal(t, "gate.capacity", Suggest("gate.capactiy", names))
	assert.Equal(t, "http.port", Suggest("http.prot", names))
	assert.Empty(t, Suggest("something.else", names))
	assert.Equal(t, "gate.key", Suggest("gate.kez", []string{"gate.key", "gate.kex"}), "a tie goes to the first candidate")
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
