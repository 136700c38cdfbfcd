// Package plainjson lets the API's hot paths append JSON strings as they
// are when encoding/json would write them unchanged, and fall back to
// encoding/json otherwise, so the bytes never differ from json.Marshal's.
package plainjson

// Plain reports whether s is written by encoding/json exactly as it is:
// printable ASCII without quote, backslash or HTML's <, >, &. Every code,
// generated id and fixed message of the API is.
func Plain(s string) bool {
	for i := range len(s) {
		switch c := s[i]; {
		case c < 0x20, c > 0x7e, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}
