package configs

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/1000x-rps-server/rps-server/configs/internal/envnames"
)

// Args is a binary's command line: where its config comes from, and whether
// it is only to print or to check that config and exit (main does that,
// before anything starts).
type Args struct {
	ConfigFile  string // -config FILE, else RPS_CONFIG; empty for none
	DotEnvFile  string // -env FILE, ".env" unless given; empty for none
	PrintConfig bool   // -print-config
	CheckConfig bool   // -check-config
}

// ParseArgs parses a binary's flags: -config FILE, -env FILE,
// -print-config, -check-config. The YAML file may also be named by
// RPS_CONFIG in environ; the flag wins. The .env file defaults to ".env" in
// the working directory.
func ParseArgs(name string, args, environ []string) (Args, error) {
	var a Args
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&a.ConfigFile, "config", envnames.ParseEnviron(environ)[envnames.ConfigFileVar], "YAML config file (or env "+envnames.ConfigFileVar+")")
	fs.StringVar(&a.DotEnvFile, "env", ".env", "dotenv file; a missing one is ignored")
	fs.BoolVar(&a.PrintConfig, "print-config", false, "print the effective config, secrets masked, with where each value was set, and exit")
	fs.BoolVar(&a.CheckConfig, "check-config", false, "check the config and exit: 0 if it is valid, else 1 and the error")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return Args{}, fmt.Errorf("usage: %s [-config file.yaml] [-env .env] [-print-config | -check-config]; settings: see configs/example.yaml", name)
		}
		return Args{}, fmt.Errorf("flags: %w", err)
	}
	if fs.NArg() > 0 {
		return Args{}, fmt.Errorf("flags: unexpected argument %q", fs.Arg(0))
	}
	return a, nil
}

// Options are the load options of the files a names, environ and rules.
func (a Args) Options(environ []string, rules ...Rule) LoadOptions {
	return LoadOptions{ConfigFile: a.ConfigFile, DotEnvFile: a.DotEnvFile, Environ: environ, Rules: rules}
}
