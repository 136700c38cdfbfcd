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

// aliases are other names keys are read by (alias -> key), in YAML and as
// RPS_ variables; the key's own name wins when one layer sets both.
func aliases() map[string]string {
	return map[string]string{
		// Configs written when the setting sat with Kafka's keep working.
		"kafka.reply_timeout": "task.reply_timeout",
		// Configs that name the worker's listener after its metrics keep working.
		"worker.metrics_addr": "worker.admin_addr",
	}
}

// known maps every name a key may be set by, its own and its aliases, to the key.
func known() map[string]string {
	out := aliases()
	for key := range fields(Default()) {
		out[key] = key
	}
	return out
}
