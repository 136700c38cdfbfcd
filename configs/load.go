package configs

import (
	"errors"
	"fmt"
	"strings"

	"github.com/1000x-rps-server/rps-server/configs/internal/envnames"
	"github.com/1000x-rps-server/rps-server/configs/internal/keytree"
)

// LoadOptions says where the layers come from. Environ is passed in (the
// caller gives os.Environ()) so that loading never touches process state.
type LoadOptions struct {
	ConfigFile string   // YAML file; empty for none, a missing file is an error
	DotEnvFile string   // .env file; empty or missing is fine
	Environ    []string // KEY=VALUE pairs; a later pair wins
	// Rules are the components' own checks, run after the generic ones
	// (start-up passes the adapters' rules).
	Rules []Rule
}

// Load builds the config from the defaults, the YAML file, the .env file and
// the environment, each over the one before, and validates it: the generic
// checks (Validate), then opts.Rules. Every error is one line naming the
// key, and the variable or file that set it.
func Load(opts LoadOptions) (Config, error) {
	cfg, _, err := LoadWithOrigins(opts)
	return cfg, err
}

// LoadWithOrigins is Load that also says where each value was set.
func LoadWithOrigins(opts LoadOptions) (Config, Origins, error) {
	def := Default()
	l, err := keytree.NewLoader(fields(def), def.Kafka.Settings, aliases())
	if err != nil {
		return Config{}, nil, err
	}
	if opts.ConfigFile != "" {
		if err := l.LoadYAML(opts.ConfigFile); err != nil {
			return Config{}, nil, err
		}
	}
	if opts.DotEnvFile != "" {
		vars, err := keytree.ReadDotEnv(opts.DotEnvFile)
		if err != nil {
			return Config{}, nil, err
		}
		if err := loadVars(l, vars, opts.DotEnvFile); err != nil {
			return Config{}, nil, err
		}
	}
	if err := loadVars(l, envnames.ParseEnviron(opts.Environ), "the environment"); err != nil {
		return Config{}, nil, err
	}
	cfg, err := config(l, opts.Rules)
	if err != nil {
		return Config{}, nil, err
	}
	return cfg, Origins(l.Origins()), nil
}

// loadVars merges variables (from the environment or a .env file).
func loadVars(l *keytree.Loader, vars map[string]string, where string) error {
	ly, err := envnames.FromVars(vars, where, l.Known(), secret)
	if err != nil {
		return err
	}
	return l.Merge(ly)
}

// config unmarshals the merged tree, normalises it and validates it, adding
// to a validation error where the offending values came from.
func config(l *keytree.Loader, rules []Rule) (Config, error) {
	var cfg Config
	if err := l.Unmarshal(&cfg); err != nil {
		return Config{}, err
	}
	cfg.Kafka.Settings = l.Settings()
	cfg.Log.Level = normalizeLevel(cfg.Log.Level)
	cfg.Log.Format = strings.ToLower(strings.TrimSpace(cfg.Log.Format))
	cfg.Fair.Identity = strings.ToLower(strings.TrimSpace(cfg.Fair.Identity))
	if err := cfg.check(rules); err != nil {
		var ke *KeyError
		if errors.As(err, &ke) {
			return Config{}, fmt.Errorf("%w%s", err, ke.origins(l.Origins()))
		}
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return cfg, nil
}

// check runs the generic checks, then the rules, and returns the first error.
func (c Config) check(rules []Rule) error {
	if err := c.Validate(); err != nil {
		return err
	}
	for _, rule := range rules {
		if err := rule(c); err != nil {
			return err
		}
	}
	return nil
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
