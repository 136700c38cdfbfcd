package configs

import (
	"log/slog"
	"reflect"

	"github.com/1000x-rps-server/rps-server/configs/internal/keytree"
)

// LogValue logs the effective config, every key, built from the same
// reflection as the key list (so a new key is logged without a line here),
// with secrets masked: a field tagged redact:"url" shows its URL without the
// password, redact:"value" shows nothing of it, and librdkafka settings that
// hold credentials are masked by name.
func (c Config) LogValue() slog.Value {
	return keytree.LogValue(keytree.Tree("", reflect.ValueOf(c)))
}
