package configs

import "github.com/1000x-rps-server/rps-server/configs/internal/envnames"

// ReadsVariable reports whether Load reads the environment variable name: one
// of the original's names, RPS_CONFIG, or the RPS_ variable of a key or of a
// key's former name (any RPS_KAFKA__SETTINGS__ suffix, a librdkafka property). Deployment files are
// checked against it, so a misspelt variable cannot be ignored in silence.
func ReadsVariable(name string) bool {
	return envnames.Reads(name, known())
}
