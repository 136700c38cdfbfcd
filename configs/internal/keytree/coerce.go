package keytree

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Coerce converts a raw value, a string from a variable or a scalar from
// YAML, to type t. It is stricter than mapstructure's weak typing: a bare
// number is not a duration (YAML "reply_timeout: 10" would be 10ns) and
// "1.5" is not an int.
func Coerce(raw any, t reflect.Type) (any, bool) {
	if raw == nil { // "key:" with no value in YAML: empty, if a string may be
		return "", t.Kind() == reflect.String
	}
	if s, ok := raw.(string); ok && t.Kind() != reflect.String {
		raw = strings.TrimSpace(s)
	}
	switch {
	case t == DurationType:
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

// Describe says what a value of type t must look like.
func Describe(t reflect.Type) string {
	switch {
	case t == DurationType:
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

// Show prints a value the way a user typed it.
func Show(v any) string {
	switch v := v.(type) {
	case nil:
		return "nothing"
	case string:
		return strconv.Quote(v)
	}
	return fmt.Sprint(v)
}

// Suggest returns the candidate closest to name, if it is close enough to be
// a typo of it.
func Suggest(name string, candidates []string) string {
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
