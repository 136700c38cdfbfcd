package configs

import (
	"reflect"
	"strings"

	"github.com/1000x-rps-server/rps-server/configs/internal/keytree"
)

// secret reports whether key holds a credential: a key tagged redact (masked
// in the log and by -print-config), or a librdkafka property whose name says
// so (kafka.settings.sasl.password). Only these may be read from a file named
// by their variable + _FILE, as container platforms mount secrets.
func secret(key string) bool {
	if prop, ok := strings.CutPrefix(key, keytree.SettingsKey+"."); ok {
		return keytree.SecretSetting(prop)
	}
	for _, f := range keytree.Flatten(keytree.Tree("", reflect.ValueOf(Default()))) {
		if f.Key == key {
			return keytree.Secret(f)
		}
	}
	return false
}
