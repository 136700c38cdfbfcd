package configs_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/1000x-rps-server/rps-server/configs"
)

// fuzzVars are variables of every value type: durations (also the original's
// seconds form), whole numbers, booleans, strings, URLs and address lists.
var fuzzVars = []string{
	"RPS_HTTP__REQUEST_TIMEOUT", "KAFKA_GIFT_CODE_TIMEOUT", "RATE_LIMIT_CAPACITY", "RPS_HTTP__BODY_LIMIT",
	"RPS_GATE__FAIL_OPEN", "LOG_LEVEL", "REDIS_URL", "KAFKA_BOOTSTRAP_SERVERS", "PORT",
	"RPS_HTTP__TRUSTED_PROXIES", "RPS_IDEMPOTENCY__TTL", "RPS_KAFKA__SETTINGS__LINGER_MS",
}

// FuzzEnvValue sets one variable to an arbitrary value: Load must never
// panic, and it either returns a config that validates or an error of one
// line that starts with "config".
func FuzzEnvValue(f *testing.F) {
	for i, v := range []string{"10s", "10.0", "-1", "1e3", "true", "0x10", "redis://h:6379/0", "a:1,b:2", "10.0.0.0/8, ::1", "", " 5 ", "9223372036854775808"} {
		f.Add(uint8(i), v)
	}
	f.Fuzz(func(t *testing.T, which uint8, value string) {
		name := fuzzVars[int(which)%len(fuzzVars)]
		cfg, err := configs.Load(configs.LoadOptions{Environ: []string{name + "=" + value}})
		if err != nil {
			if msg := err.Error(); !strings.HasPrefix(msg, "config") {
				t.Fatalf("%s=%q: error does not say config: %q", name, value, msg)
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("%s=%q: Load returned a config that does not validate: %v", name, value, err)
		}
	})
}

// FuzzWriteYAML sets a string key and a librdkafka property to an arbitrary
// text: the printed config must load back as the same config, whatever YAML
// would otherwise misread (quotes, colons, #, newlines, "true", "5"). YAML
// is Unicode, so bytes that are no UTF-8 are out of scope.
func FuzzWriteYAML(f *testing.F) {
	for _, v := range []string{"{rps}:gate", "a: b", "# x", "true", "5", "'", `"`, "two\nlines", " padded ", "~", "null", "- x", "\t", "é"} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, value string) {
		if !utf8.ValidString(value) {
			return
		}
		cfg, origins, err := configs.LoadWithOrigins(configs.LoadOptions{Environ: []string{
			"RPS_GATE__KEY=" + value, "RPS_KAFKA__SETTINGS__CLIENT_ID=" + value,
		}})
		if err != nil {
			return
		}
		var out strings.Builder
		if err := cfg.WriteYAML(&out, origins); err != nil {
			t.Fatalf("%q: %v", value, err)
		}
		path := filepath.Join(t.TempDir(), "printed.yaml")
		if err := os.WriteFile(path, []byte(out.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		again, err := configs.Load(configs.LoadOptions{ConfigFile: path})
		if err != nil {
			t.Fatalf("%q: the printed config does not load: %v\n%s", value, err, out.String())
		}
		if again.Gate.Key != cfg.Gate.Key || again.Kafka.Settings["client.id"] != cfg.Kafka.Settings["client.id"] {
			t.Fatalf("%q: loaded back as %q and %q", value, again.Gate.Key, again.Kafka.Settings["client.id"])
		}
	})
}
