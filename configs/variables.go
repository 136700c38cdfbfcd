package configs

import (
	"strings"

	"github.com/1000x-rps-server/rps-server/configs/internal/env"
	"github.com/1000x-rps-server/rps-server/configs/internal/keys"
)

// ReadsVariable reports whether Load reads the environment variable name: one
// of the original's names, RPS_CONFIG, or the RPS_ variable of a key (any
// RPS_KAFKA__SETTINGS__ suffix, a librdkafka property). Deployment files are
// checked against it, so a misspelt variable cannot be ignored in silence.
func ReadsVariable(name string) bool {
	if _, ok := env.OriginalNames[name]; ok || name == env.ConfigFileVar {
		return true
	}
	if strings.HasPrefix(name, env.VarName(keys.SettingsKey)+"__") {
		return true
	}
	for key := range fields(Default()) {
		if env.VarName(key) == name {
			return true
		}
	}
	return false
}
