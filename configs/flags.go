package configs

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/1000x-rps-server/rps-server/configs/internal/envnames"
)

// FromArgs parses a binary's flags (-config FILE, -env FILE) and loads the
// config, checked by rules after the generic checks (see Load). The YAML file may also be named by RPS_CONFIG in environ; the flag
// wins. The .env file defaults to ".env" in the working directory.
func FromArgs(name string, args, environ []string, rules ...Rule) (Config, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	configFile := fs.String("config", envnames.ParseEnviron(environ)[envnames.ConfigFileVar], "YAML config file (or env "+envnames.ConfigFileVar+")")
	dotEnv := fs.String("env", ".env", "dotenv file; a missing one is ignored")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return Config{}, fmt.Errorf("usage: %s [-config file.yaml] [-env .env]; settings: see configs/example.yaml", name)
		}
		return Config{}, fmt.Errorf("flags: %w", err)
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("flags: unexpected argument %q", fs.Arg(0))
	}
	return Load(LoadOptions{ConfigFile: *configFile, DotEnvFile: *dotEnv, Environ: environ, Rules: rules})
}
