package configs

import (
	"reflect"

	"github.com/1000x-rps-server/rps-server/configs/internal/keytree"
)

// fields returns every settable key of cfg (e.g. "gate.capacity") with its
// value, read from the koanf tags, so the key list can never drift from the
// struct. kafka.settings is left out: its names are free (see keytree.SettingsKey).
func fields(cfg Config) map[string]reflect.Value {
	out := map[string]reflect.Value{}
	for _, f := range keytree.Flatten(keytree.Tree("", reflect.ValueOf(cfg))) {
		if f.Key != keytree.SettingsKey {
			out[f.Key] = f.Value
		}
	}
	return out
}
