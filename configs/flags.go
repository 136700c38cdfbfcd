package configs

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// FromArgs parses a binary's flags (-config, -env) and loads the config.
// The config file may also be named by RPS_CONFIG in environ.
func FromArgs(name string, args, environ []string) (Config, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	configFile := fs.String("config", parseEnviron(environ)["RPS_CONFIG"], "YAML config file (or env RPS_CONFIG)")
	dotEnv := fs.String("env", ".env", "dotenv file; a missing one is ignored")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return Config{}, fmt.Errorf("usage: %s [-config file.yaml] [-env .env]; settings: see configs/example.yaml", name)
		}
		return Config{}, fmt.Errorf("flags: %w", err)
	}
	return Load(LoadOptions{ConfigFile: *configFile, DotEnvFile: *dotEnv, Environ: environ})
}
