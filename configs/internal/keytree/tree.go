// Package keytree is the machinery behind package configs that knows no
// setting by name: the key tree read from a config struct by reflection,
// the strict conversion of raw values, the merging of layers (YAML, .env,
// variables) and the redacted rendering of the config for the log.
package keytree

import (
	"reflect"
	"time"
)

// SettingsKey holds raw librdkafka properties: any name below it is allowed,
// and the names contain the key delimiter themselves ("linger.ms"), so they
// are kept out of the koanf tree and gathered on their own.
const SettingsKey = "kafka.settings"

// DurationType is the type of a duration key.
var DurationType = reflect.TypeFor[time.Duration]()

// Field is one key of the config, or a section holding keys, read from the
// struct by reflection: the one description of the keys that loading,
// validation messages and the logged config share, so none can drift.
type Field struct {
	Key      string            // path, e.g. "gate.capacity"
	Name     string            // last element, e.g. "capacity"
	Tag      reflect.StructTag // e.g. `redact:"url"` for the logged config
	Value    reflect.Value     // a scalar, or kafka.settings's map
	Children []Field           // a section's keys in declaration order; nil for a key
}

// Tree returns the keys and sections of v, a config struct, in declaration
// order, named by their koanf tags.
func Tree(prefix string, v reflect.Value) []Field {
	out := make([]Field, 0, v.NumField())
	for i := range v.NumField() {
		sf := v.Type().Field(i)
		f := Field{Key: prefix + sf.Tag.Get("koanf"), Name: sf.Tag.Get("koanf"), Tag: sf.Tag, Value: v.Field(i)}
		if f.Value.Kind() == reflect.Struct {
			f.Children = Tree(f.Key+".", f.Value)
		}
		out = append(out, f)
	}
	return out
}

// Flatten lists the keys of a tree in declaration order, sections left out.
func Flatten(fs []Field) []Field {
	var out []Field
	for _, f := range fs {
		if f.Children != nil {
			out = append(out, Flatten(f.Children)...)
			continue
		}
		out = append(out, f)
	}
	return out
}
