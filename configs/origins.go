package configs

import (
	"io"
	"reflect"

	"github.com/1000x-rps-server/rps-server/configs/internal/keytree"
)

// Origins says where each key's value was set, by key ("gate.capacity", or
// "kafka.settings.linger.ms" for a librdkafka property): "file c.yaml",
// "RPS_GATE__CAPACITY in the environment", "REDIS_URL in .env",
// "RPS_REDIS__PASSWORD_FILE in the environment". A key no layer set is
// absent: it has its default.
type Origins map[string]string

// Of says where key's value was set, "default" when no layer set it.
func (o Origins) Of(key string) string { return keytree.Origin(o, key) }

// Set reports whether a file or a variable set key, even to its default
// value: the user chose it.
func (o Origins) Set(key string) bool {
	_, ok := o[key]
	return ok
}

// WriteYAML writes the config as YAML, every key, secrets masked as in the
// log, each value followed by a comment saying where it was set (Of).
// Secrets aside, the output loads back as a config file.
func (c Config) WriteYAML(w io.Writer, origins Origins) error {
	return keytree.WriteYAML(w, keytree.Tree("", reflect.ValueOf(c)), origins)
}
