package configs

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

// LoadOptions says where the layers come from. Environ is passed in (the
// caller gives os.Environ()) so that loading never touches process state.
type LoadOptions struct {
	ConfigFile string   // YAML file; empty for none, a missing file is an error
	DotEnvFile string   // .env file; empty or missing is fine
	Environ    []string // KEY=VALUE pairs; a later pair wins
}

// Load builds the config from the defaults, the YAML file, the .env file and
// the environment, each over the one before, and validates it. Every error
// is one line naming the key, and the variable or file that set it.
func Load(opts LoadOptions) (Config, error) {
	l, err := newLoader()
	if err != nil {
		return Config{}, err
	}
	if opts.ConfigFile != "" {
		if err := l.loadYAML(opts.ConfigFile); err != nil {
			return Config{}, err
		}
	}
	if opts.DotEnvFile != "" {
		vars, err := readDotEnv(opts.DotEnvFile)
		if err != nil {
			return Config{}, err
		}
		if err := l.loadVars(vars, opts.DotEnvFile); err != nil {
			return Config{}, err
		}
	}
	if err := l.loadVars(parseEnviron(opts.Environ), "the environment"); err != nil {
		return Config{}, err
	}
	return l.config()
}

// loader merges layers into one koanf tree of values already converted to
// their fields' types, remembering where each key's value came from.
type loader struct {
	k        *koanf.Koanf
	types    map[string]reflect.Type
	origins  map[string]string
	settings map[string]string
}

func newLoader() (*loader, error) {
	def := Default()
	l := &loader{
		k: koanf.New("."), types: map[string]reflect.Type{},
		origins: map[string]string{}, settings: maps.Clone(def.Kafka.Settings),
	}
	values := map[string]any{}
	for key, v := range fields(def) {
		l.types[key], values[key] = v.Type(), v.Interface()
	}
	if err := l.k.Load(confmap.Provider(values, "."), nil); err != nil {
		return nil, fmt.Errorf("config: defaults: %w", err)
	}
	return l, nil
}

func (l *loader) loadYAML(path string) error {
	b, err := file.Provider(path).ReadBytes()
	if err != nil {
		return fmt.Errorf("config: %w", err) // names the path
	}
	tree, err := yaml.Parser().Unmarshal(b)
	if err != nil {
		return fmt.Errorf("config: file %s: %s", path, oneLine(err))
	}
	where := "file " + path
	ly := newLayer()
	if err := takeSettings(tree, ly.settings); err != nil {
		return fmt.Errorf("config: %w; set by %s", err, where)
	}
	for name := range ly.settings {
		ly.origins[settingsKey+"."+name] = where
	}
	parsed := koanf.New(".")
	if err := parsed.Load(confmap.Provider(tree, ""), nil); err != nil {
		return fmt.Errorf("config: file %s: %w", path, err)
	}
	for key, v := range parsed.All() {
		if _, ok := l.types[key]; ok {
			ly.values[key], ly.origins[key] = v, where
			continue
		}
		if isEmptySection(v) { // "worker:" with every key commented out
			continue
		}
		msg := fmt.Sprintf("config: file %s: unknown key %q", path, key)
		if s := suggest(key, slices.Collect(maps.Keys(l.types))); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		return errors.New(msg)
	}
	return l.merge(ly)
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
		return fmt.Errorf("%s must be a map of librdkafka properties (got %s)", settingsKey, show(raw))
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
				return fmt.Errorf("%s.%s must be a string or a number (got %s)", settingsKey, prefix+name, show(v))
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

func readDotEnv(path string) (map[string]string, error) {
	b, err := file.Provider(path).ReadBytes()
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	parsed, err := dotenv.Parser().Unmarshal(b)
	if err != nil {
		return nil, fmt.Errorf("config: %s: %s", path, oneLine(err))
	}
	vars := make(map[string]string, len(parsed))
	for name, v := range parsed {
		vars[name] = fmt.Sprint(v)
	}
	return vars, nil
}

func (l *loader) loadVars(vars map[string]string, where string) error {
	known := make(map[string]bool, len(l.types))
	for key := range l.types {
		known[key] = true
	}
	ly, err := fromVars(vars, where, known)
	if err != nil {
		return err
	}
	return l.merge(ly)
}

// merge converts a layer's values to their fields' types and loads them over
// the layers below.
func (l *loader) merge(ly layer) error {
	values := make(map[string]any, len(ly.values))
	for _, key := range slices.Sorted(maps.Keys(ly.values)) {
		v, ok := coerce(ly.values[key], l.types[key])
		if !ok {
			return fmt.Errorf("config: %s must be %s (got %s); set by %s",
				key, describe(l.types[key]), show(ly.values[key]), ly.origins[key])
		}
		values[key] = v
		l.origins[key] = ly.origins[key]
	}
	maps.Copy(l.settings, ly.settings)
	for name := range ly.settings {
		l.origins[settingsKey+"."+name] = ly.origins[settingsKey+"."+name]
	}
	if err := l.k.Load(confmap.Provider(values, "."), nil); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}

// config unmarshals the merged tree, normalises it and validates it, adding
// to a validation error where the offending values came from.
func (l *loader) config() (Config, error) {
	var cfg Config
	if err := l.k.UnmarshalWithConf("", &cfg, koanf.UnmarshalConf{}); err != nil {
		return Config{}, fmt.Errorf("config: %s", oneLine(err))
	}
	cfg.Kafka.Settings = l.settings
	cfg.Log.Level = normalizeLevel(cfg.Log.Level)
	cfg.Log.Format = strings.ToLower(strings.TrimSpace(cfg.Log.Format))
	if err := cfg.Validate(); err != nil {
		var fe *fieldError
		if errors.As(err, &fe) {
			return Config{}, fmt.Errorf("%w%s", err, fe.origins(l.origins))
		}
		return Config{}, err
	}
	return cfg, nil
}

// normalizeLevel lower-cases a level and accepts Python's names, which users
// of the original may have set: WARNING is warn, CRITICAL is error.
func normalizeLevel(level string) string {
	level = strings.ToLower(strings.TrimSpace(level))
	switch level {
	case "warning":
		return "warn"
	case "critical", "fatal":
		return "error"
	}
	return level
}

// oneLine folds a multi-line parser error into the single line we promise.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
