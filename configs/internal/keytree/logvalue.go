package keytree

import (
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"
)

// masked stands in for a secret in the logged config.
const masked = "xxxxx"

// LogValue renders a key tree for the log: every key under its own path,
// secrets masked as their redact tags say.
func LogValue(fs []Field) slog.Value {
	attrs := make([]slog.Attr, 0, len(fs))
	for _, f := range fs {
		if f.Children != nil {
			attrs = append(attrs, slog.Attr{Key: f.Name, Value: LogValue(f.Children)})
			continue
		}
		attrs = append(attrs, slog.Attr{Key: f.Name, Value: keyValue(f)})
	}
	return slog.GroupValue(attrs...)
}

// keyValue is one key's logged value: durations as "10s" (JSON would print
// nanoseconds), numbers as numbers, secrets masked.
func keyValue(f Field) slog.Value {
	v := f.Value
	switch {
	case v.Type() == DurationType:
		return slog.StringValue(time.Duration(v.Int()).String())
	case v.Kind() == reflect.Bool:
		return slog.BoolValue(v.Bool())
	case v.Kind() == reflect.Int || v.Kind() == reflect.Int64:
		return slog.Int64Value(v.Int())
	case v.Kind() == reflect.Float64:
		return slog.Float64Value(v.Float())
	case v.Kind() == reflect.String:
		return slog.StringValue(redact(f.Tag.Get("redact"), v.String()))
	case v.Kind() == reflect.Map:
		m, _ := v.Interface().(map[string]string)
		return settingsValue(m)
	}
	return slog.StringValue(fmt.Sprint(v.Interface()))
}

// redact masks s as the field's redact tag says.
func redact(how, s string) string {
	switch {
	case s == "":
		return s
	case how == "url":
		return RedactURL(s)
	case how == "value":
		return masked
	}
	return s
}

// settingsValue logs librdkafka properties by name, credentials masked.
func settingsValue(settings map[string]string) slog.Value {
	attrs := make([]slog.Attr, 0, len(settings))
	for _, name := range slices.Sorted(maps.Keys(settings)) {
		v := settings[name]
		if SecretSetting(name) {
			v = masked
		}
		attrs = append(attrs, slog.String(name, v))
	}
	return slog.GroupValue(attrs...)
}

// RedactURL masks the password of a URL as xxxxx, even of one that does not
// parse (it is then cut at the last "@").
func RedactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	if at := strings.LastIndex(raw, "@"); at >= 0 {
		return masked + raw[at:]
	}
	return raw
}

// Secret reports whether a key holds a credential: its redact tag says how
// it is masked.
func Secret(f Field) bool { return f.Tag.Get("redact") != "" }

// SecretSetting reports whether a librdkafka property holds a credential
// (sasl.password, ssl.key.password, ssl.key.pem, …).
func SecretSetting(name string) bool {
	for _, s := range []string{"password", "secret", "pem", "token", "sasl.oauthbearer.config"} {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}
