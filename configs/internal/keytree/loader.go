package keytree

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/knadh/koanf/parsers/dotenv"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"
)

// Layer is one source's raw values by key, before conversion, with where
// each came from (for error messages).
type Layer struct {
	Values   map[string]any
	Origins  map[string]string
	Settings map[string]string // librdkafka properties by name
}

// NewLayer returns an empty layer.
func NewLayer() Layer {
	return Layer{Values: map[string]any{}, Origins: map[string]string{}, Settings: map[string]string{}}
}

// Loader merges layers into one koanf tree of values already converted to
// their fields' types, remembering where each key's value came from.
type Loader struct {
	k        *koanf.Koanf
	types    map[string]reflect.Type
	aliases  map[string]string // a key's other name -> the key
	origins  map[string]string
	settings map[string]string
}

// NewLoader starts from the defaults: every settable key with its default
// value, and the default librdkafka settings. aliases are other names of
// keys (old name -> key), read as the key; the key's own name wins when a
// layer sets both.
func NewLoader(defaults map[string]reflect.Value, settings, aliases map[string]string) (*Loader, error) {
	l := &Loader{
		k: koanf.New("."), types: map[string]reflect.Type{}, aliases: maps.Clone(aliases),
		origins: map[string]string{}, settings: maps.Clone(settings),
	}
	for alias, key := range aliases {
		if _, ok := defaults[key]; !ok {
			return nil, fmt.Errorf("config: alias %s names no key (%s)", alias, key)
		}
	}
	values := map[string]any{}
	for key, v := range defaults {
		l.types[key], values[key] = v.Type(), v.Interface()
	}
	if err := l.k.Load(confmap.Provider(values, "."), nil); err != nil {
		return nil, fmt.Errorf("config: defaults: %w", err)
	}
	return l, nil
}

// LoadYAML merges a YAML file; an unknown key is an error.
func (l *Loader) LoadYAML(path string) error {
	b, err := file.Provider(path).ReadBytes()
	if err != nil {
		return fmt.Errorf("config: %w", err) // names the path
	}
	tree, err := yaml.Parser().Unmarshal(b)
	if err != nil {
		return fmt.Errorf("config: file %s: %s", path, OneLine(err))
	}
	where := "file " + path
	ly := NewLayer()
	if err := takeSettings(tree, ly.Settings); err != nil {
		return fmt.Errorf("config: %w; set by %s", err, where)
	}
	for name := range ly.Settings {
		ly.Origins[SettingsKey+"."+name] = where
	}
	parsed := koanf.New(".")
	if err := parsed.Load(confmap.Provider(tree, ""), nil); err != nil {
		return fmt.Errorf("config: file %s: %w", path, err)
	}
	for key, v := range parsed.All() {
		if _, ok := l.types[key]; ok {
			ly.Values[key], ly.Origins[key] = v, where
			continue
		}
		if to, ok := l.aliases[key]; ok {
			if !parsed.Exists(to) { // else the key's own name wins
				ly.Values[to], ly.Origins[to] = v, key+" in "+where
			}
			continue
		}
		if isEmptySection(v) { // "worker:" with every key commented out
			continue
		}
		msg := fmt.Sprintf("config: file %s: unknown key %q", path, key)
		if s := Suggest(key, slices.Collect(maps.Keys(l.types))); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		return errors.New(msg)
	}
	return l.Merge(ly)
}

// takeSettings moves kafka.settings out of a parsed YAML tree into settings,
// flattening nested maps ({ssl: {key: {location: x}}} is ssl.key.location).
func takeSettings(tree map[string]any, settings map[string]string) error {
	kafka, ok := tree["kafka"].(map[string]any)
	if !ok {
		return nil
	}
	raw, ok := kafka["settings"]
	delete(kafka, "settings")
	if !ok || raw == nil {
		return nil
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return fmt.Errorf("%s must be a map of librdkafka properties (got %s)", SettingsKey, Show(raw))
	}
	var walk func(prefix string, m map[string]any) error
	walk = func(prefix string, m map[string]any) error {
		for name, v := range m {
			switch v := v.(type) {
			case map[string]any:
				if err := walk(prefix+name+".", v); err != nil {
					return err
				}
			case string, bool, int, int64, uint64, float64:
				settings[prefix+name] = fmt.Sprint(v)
			default:
				return fmt.Errorf("%s.%s must be a string or a number (got %s)", SettingsKey, prefix+name, Show(v))
			}
		}
		return nil
	}
	return walk("", m)
}

func isEmptySection(v any) bool {
	if v == nil {
		return true
	}
	m, ok := v.(map[string]any)
	return ok && len(m) == 0
}

// ReadDotEnv reads a .env file; a missing one is empty.
func ReadDotEnv(path string) (map[string]string, error) {
	b, err := file.Provider(path).ReadBytes()
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	parsed, err := dotenv.Parser().Unmarshal(b)
	if err != nil {
		return nil, fmt.Errorf("config: %s: %s", path, OneLine(err))
	}
	vars := make(map[string]string, len(parsed))
	for name, v := range parsed {
		vars[name] = fmt.Sprint(v)
	}
	return vars, nil
}

// Merge converts a layer's values to their fields' types and loads them over
// the layers below.
func (l *Loader) Merge(ly Layer) error {
	values := make(map[string]any, len(ly.Values))
	for _, key := range slices.Sorted(maps.Keys(ly.Values)) {
		v, ok := Coerce(ly.Values[key], l.types[key])
		if !ok {
			return fmt.Errorf("config: %s must be %s (got %s); set by %s",
				key, Describe(l.types[key]), Show(ly.Values[key]), ly.Origins[key])
		}
		values[key] = v
		l.origins[key] = ly.Origins[key]
	}
	maps.Copy(l.settings, ly.Settings)
	for name := range ly.Settings {
		l.origins[SettingsKey+"."+name] = ly.Origins[SettingsKey+"."+name]
	}
	if err := l.k.Load(confmap.Provider(values, "."), nil); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}

// Known maps every name a key may be set by (its own and its aliases) to
// the key.
func (l *Loader) Known() map[string]string {
	known := make(map[string]string, len(l.types)+len(l.aliases))
	for key := range l.types {
		known[key] = key
	}
	maps.Copy(known, l.aliases)
	return known
}

// Unmarshal writes the merged values into out, a pointer to a config struct.
func (l *Loader) Unmarshal(out any) error {
	if err := l.k.UnmarshalWithConf("", out, koanf.UnmarshalConf{}); err != nil {
		return fmt.Errorf("config: %s", OneLine(err))
	}
	return nil
}

// Settings are the merged librdkafka properties.
func (l *Loader) Settings() map[string]string { return l.settings }

// Origins says where each key's value came from (a variable, a file).
func (l *Loader) Origins() map[string]string { return l.origins }

// OneLine folds a multi-line parser error into the single line we promise.
func OneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// SetBy says which variables or files set keys (the offending one first),
// for an error message:
// "; set by RATE_LIMIT_CAPACITY in the environment".
func SetBy(keys []string, from map[string]string) string {
	var parts []string
	for i, key := range keys {
		switch o, ok := from[key]; {
		case !ok:
		case i == 0:
			parts = append(parts, "set by "+o)
		default:
			parts = append(parts, key+" set by "+o)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "; " + strings.Join(parts, ", ")
}
