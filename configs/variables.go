package configs

import "strings"

// ReadsVariable reports whether Load reads the environment variable name: one
// of the original's names, RPS_CONFIG, or the RPS_ variable of a key (any
// RPS_KAFKA__SETTINGS__ suffix, a librdkafka property). Deployment files are
// checked against it, so a misspelt variable cannot be ignored in silence.
func ReadsVariable(name string) bool {
	if _, ok := originalNames[name]; ok || name == configFileVar {
		return true
	}
	if strings.HasPrefix(name, varName(settingsKey)+"__") {
		return true
	}
	for key := range fields(Default()) {
		if varName(key) == name {
			return true
		}
	}
	return false
}
