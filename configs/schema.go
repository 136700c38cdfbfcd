package configs

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// settingsKey holds raw librdkafka properties: any name below it is allowed,
// and the names contain the key delimiter themselves ("linger.ms"), so they
// are kept out of the koanf tree and gathered on their own.
const settingsKey = "kafka.settings"

var durationType = reflect.TypeFor[time.Duration]()

// field is one key of the config, or a section holding keys, read from the
// struct by reflection: the one description of the keys that loading,
// validation messages and the logged config share, so none can drift.
type field struct {
	key      string            // path, e.g. "gate.capacity"
	name     string            // last element, e.g. "capacity"
	tag      reflect.StructTag // e.g. `redact:"url"` for the logged config
	value    reflect.Value     // a scalar, or kafka.settings's map
	children []field           // a section's keys in declaration order; nil for a key
}

// tree returns the keys and sections of v, a config struct, in declaration
// order, named by their koanf tags.
func tree(prefix string, v reflect.Value) []field {
	out := make([]field, 0, v.NumField())
	for i := range v.NumField() {
		sf := v.Type().Field(i)
		f := field{key: prefix + sf.Tag.Get("koanf"), name: sf.Tag.Get("koanf"), tag: sf.Tag, value: v.Field(i)}
		if f.value.Kind() == reflect.Struct {
			f.children = tree(f.key+".", f.value)
		}
		out = append(out, f)
	}
	return out
}

// fields returns every settable key of cfg (e.g. "gate.capacity") with its
// value, read from the koanf tags, so the key list can never drift from the
// struct. kafka.settings is left out: its names are free (see settingsKey).
func fields(cfg Config) map[string]reflect.Value {
	out := map[string]reflect.Value{}
	for _, f := range flatten(tree("", reflect.ValueOf(cfg))) {
		if f.key != settingsKey {
			out[f.key] = f.value
		}
	}
	return out
}

// flatten lists the keys of a tree in declaration order, sections left out.
func flatten(fs []field) []field {
	var out []field
	for _, f := range fs {
		if f.children != nil {
			out = append(out, flatten(f.children)...)
			continue
		}
		out = append(out, f)
	}
	return out
}

// coerce converts a raw value, a string from a variable or a scalar from
// YAML, to type t. It is stricter than mapstructure's weak typing: a bare
// number is not a duration (YAML "reply_timeout: 10" would be 10ns) and
// "1.5" is not an int.
func coerce(raw any, t reflect.Type) (any, bool) {
	if raw == nil { // "key:" with no value in YAML: empty, if a string may be
		return "", t.Kind() == reflect.String
	}
	if s, ok := raw.(string); ok && t.Kind() != reflect.String {
		raw = strings.TrimSpace(s)
	}
	switch {
	case t == durationType:
		return toDuration(raw)
	case t.Kind() == reflect.String:
		switch raw.(type) {
		case string, bool, int, int64, uint64, float64:
			return fmt.Sprint(raw), true
		}
	case t.Kind() == reflect.Bool:
		switch v := raw.(type) {
		case bool:
			return v, true
		case string:
			b, err := strconv.ParseBool(v)
			return b, err == nil
		}
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64:
		if n, ok := toInt(raw); ok {
			return reflect.ValueOf(n).Convert(t).Interface(), true
		}
	case t.Kind() == reflect.Float64:
		return toFloat(raw)
	}
	return nil, false
}

func toFloat(raw any) (any, bool) {
	switch v := raw.(type) {
	case float64:
		return v, !math.IsNaN(v) && !math.IsInf(v, 0)
	case int:
		return float64(v), true
	case string:
		f, err := strconv.ParseFloat(v, 64)
		return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
	}
	return nil, false
}

func toDuration(raw any) (any, bool) {
	switch v := raw.(type) {
	case string:
		d, err := time.ParseDuration(v)
		return d, err == nil
	case int:
		return time.Duration(0), v == 0 // only 0 needs no unit
	}
	return nil, false
}

func toInt(raw any) (int64, bool) {
	switch v := raw.(type) {
	case int:
		return int64(v), true
	case int64:
		return v, true
	case uint64:
		return int64(v), v <= math.MaxInt64
	case float64:
		return int64(v), v == math.Trunc(v) && math.Abs(v) < 1<<53
	case string:
		n, err := strconv.ParseInt(v, 10, 64)
		return n, err == nil
	}
	return 0, false
}

// describe says what a value of type t must look like.
func describe(t reflect.Type) string {
	switch {
	case t == durationType:
		return `a duration such as "10s" or "250ms"`
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() == reflect.String:
		return "a string"
	case t.Kind() == reflect.Float64:
		return "a number"
	default:
		return "a whole number"
	}
}

// show prints a value the way a user typed it.
func show(v any) string {
	switch v := v.(type) {
	case nil:
		return "nothing"
	case string:
		return strconv.Quote(v)
	}
	return fmt.Sprint(v)
}

// suggest returns the candidate closest to name, if it is close enough to be
// a typo of it.
func suggest(name string, candidates []string) string {
	best, bestDist := "", 3 // at most two edits
	for _, c := range candidates {
		if d := editDistance(name, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
