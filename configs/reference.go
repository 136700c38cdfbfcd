package configs

import (
	"maps"
	"reflect"
	"slices"

	"github.com/1000x-rps-server/rps-server/configs/internal/envnames"
	"github.com/1000x-rps-server/rps-server/configs/internal/keytree"
)

// Setting is one key with every name it is read by, for the reference of
// docs/configuration.md (configs/cmd/configdoc), which is generated from
// these so the documentation cannot miss a key.
type Setting struct {
	Key      string   // e.g. "gate.capacity"; "kafka.settings" stands for its free-named properties
	Var      string   // its RPS_ variable, e.g. "RPS_GATE__CAPACITY"
	Original []string // the original's (or OpenTelemetry's) variables read as this key, sorted
	Aliases  []string // other keys read as this one, sorted
	Secret   bool     // masked in the log, and readable from the file its variable + _FILE names
}

// Settings lists every key of the config in declaration order.
func Settings() []Setting {
	original := map[string][]string{}
	for _, name := range slices.Sorted(maps.Keys(envnames.OriginalNames)) {
		key := envnames.OriginalNames[name]
		original[key] = append(original[key], name)
	}
	alias := map[string][]string{}
	for _, a := range slices.Sorted(maps.Keys(aliases())) {
		key := aliases()[a]
		alias[key] = append(alias[key], a)
	}
	var out []Setting
	for _, f := range keytree.Flatten(keytree.Tree("", reflect.ValueOf(Default()))) {
		out = append(out, Setting{
			Key: f.Key, Var: envnames.VarName(f.Key),
			Original: original[f.Key], Aliases: alias[f.Key], Secret: keytree.Secret(f),
		})
	}
	return out
}

// VarName is the RPS_ variable of a key or an alias: gate.capacity is
// RPS_GATE__CAPACITY.
func VarName(key string) string { return envnames.VarName(key) }
