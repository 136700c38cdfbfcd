package configs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

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
	Environ    []string // KEY=VALUE pairs
}

// envPrefix starts the project's own variables: RPS_GATE__CAPACITY.
const envPrefix = "RPS_"

// originalNames are the Python original's variables, kept working unchanged.
// When a name here and its RPS_ variable are both set, the RPS_ one wins.
var originalNames = map[string]string{
	"KAFKA_BOOTSTRAP_SERVERS": "kafka.bootstrap",
	"KAFKA_GIFT_CODE_TIMEOUT": "kafka.reply_timeout",
	"TASKS_TOPIC":             "kafka.tasks_topic",
	"RESULTS_TOPIC":           "kafka.results_topic",
	"REDIS_URL":               "redis.url",
	"RATE_LIMIT_CAPACITY":     "gate.capacity",
	"WORKER_CONCURRENCY":      "worker.concurrency",
	"HOST":                    "http.host",
	"PORT":                    "http.port",
	"LOG_LEVEL":               "log.level",
}

// settingsKey holds raw librdkafka properties; any name below it is allowed.
const settingsKey = "kafka.settings"

// Load builds the config from defaults, the YAML file, the .env file and the
// environment, in that order of precedence, and validates it.
func Load(opts LoadOptions) (Config, error) {
	k := koanf.New(".")
	if err := k.Load(confmap.Provider(defaults(), "."), nil); err != nil {
		return Config{}, fmt.Errorf("config: defaults: %w", err)
	}
	if opts.ConfigFile != "" {
		if err := loadYAML(k, opts.ConfigFile); err != nil {
			return Config{}, err
		}
	}
	if opts.DotEnvFile != "" {
		vars, err := readDotEnv(opts.DotEnvFile)
		if err != nil {
			return Config{}, err
		}
		if err := loadVars(k, vars, opts.DotEnvFile); err != nil {
			return Config{}, err
		}
	}
	if err := loadVars(k, parseEnviron(opts.Environ), "environment"); err != nil {
		return Config{}, err
	}

	// librdkafka's property names contain the key delimiter ("linger.ms"), so
	// they are read flat from their own subtree rather than unmarshalled.
	settings := k.Cut(settingsKey).All()
	k.Delete(settingsKey)
	var cfg Config
	if err := k.UnmarshalWithConf("", &cfg, koanf.UnmarshalConf{}); err != nil {
		return Config{}, fmt.Errorf("config: %s", oneLine(err))
	}
	cfg.Kafka.Settings = make(map[string]string, len(settings))
	for name, v := range settings {
		cfg.Kafka.Settings[name] = fmt.Sprint(v)
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

func loadYAML(k *koanf.Koanf, path string) error {
	layer := koanf.New(".")
	if err := layer.Load(file.Provider(path), yaml.Parser()); err != nil {
		return fmt.Errorf("config: file %s: %s", path, oneLine(err))
	}
	for _, key := range layer.Keys() {
		if !isKnown(key) {
			return fmt.Errorf("config: file %s: unknown key %q", path, key)
		}
	}
	if err := k.Merge(layer); err != nil {
		return fmt.Errorf("config: file %s: %w", path, err)
	}
	return nil
}

func readDotEnv(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
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

func parseEnviron(environ []string) map[string]string {
	vars := make(map[string]string, len(environ))
	for _, kv := range environ {
		if name, v, ok := strings.Cut(kv, "="); ok {
			vars[name] = v
		}
	}
	return vars
}

// loadVars maps variables onto config keys, the original's names first so
// that RPS_ variables win, and merges them into k.
func loadVars(k *koanf.Koanf, vars map[string]string, source string) error {
	values := map[string]any{}
	for name, key := range originalNames {
		v, ok := vars[name]
		if !ok {
			continue
		}
		if name == "KAFKA_GIFT_CODE_TIMEOUT" {
			v = secondsToDuration(v)
		}
		values[key] = v
	}
	for name, v := range vars {
		rest, ok := strings.CutPrefix(name, envPrefix)
		if !ok || name == "RPS_CONFIG" {
			continue
		}
		key := strings.ToLower(strings.ReplaceAll(rest, "__", "."))
		if prop, ok := strings.CutPrefix(key, settingsKey+"."); ok {
			key = settingsKey + "." + strings.ReplaceAll(prop, "_", ".")
			values[key] = v
			continue
		}
		if !isKnown(key) {
			return fmt.Errorf("config: %s: unknown setting %s (key %q)", source, name, key)
		}
		values[key] = v
	}
	if err := k.Load(confmap.Provider(values, "."), nil); err != nil {
		return fmt.Errorf("config: %s: %w", source, err)
	}
	return nil
}

// secondsToDuration accepts the original's float seconds ("10.0") as well as
// a Go duration ("10s").
func secondsToDuration(v string) string {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil {
		return v
	}
	return time.Duration(f * float64(time.Second)).String()
}

func isKnown(key string) bool {
	if strings.HasPrefix(key, settingsKey+".") {
		return true
	}
	_, ok := defaults()[key]
	return ok
}

// oneLine folds a multi-line decoder error into the single line we promise.
func oneLine(err error) string {
	fields := strings.Fields(strings.ReplaceAll(err.Error(), "* ", ""))
	return strings.Join(slices.DeleteFunc(fields, func(s string) bool { return s == "" }), " ")
}
