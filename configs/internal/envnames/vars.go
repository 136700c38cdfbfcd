// Package envnames maps environment variables (and a .env file's) onto config
// keys: the RPS_ names of the keys and the Python original's names.
package envnames

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/1000x-rps-server/rps-server/configs/internal/keytree"
)

// envPrefix starts the project's own variables: RPS_GATE__CAPACITY.
const envPrefix = "RPS_"

// ConfigFileVar names the YAML file; ParseArgs reads it, it is not a setting.
const ConfigFileVar = "RPS_CONFIG"

// OriginalNames are the Python original's variables (and LOG_LEVEL), kept
// working unchanged, and OpenTelemetry's standard names for what we read. When a name here and its RPS_ variable are set in the
// same layer, the RPS_ one wins.
var OriginalNames = map[string]string{
	"KAFKA_BOOTSTRAP_SERVERS": "kafka.bootstrap",
	"KAFKA_GIFT_CODE_TIMEOUT": "task.reply_timeout", // float seconds ("10.0") or a duration
	"TASKS_TOPIC":             "kafka.tasks_topic",
	"RESULTS_TOPIC":           "kafka.results_topic",
	"REDIS_URL":               "redis.url",
	"RATE_LIMIT_CAPACITY":     "gate.capacity",
	"WORKER_CONCURRENCY":      "worker.concurrency",
	"HOST":                    "http.host",
	"PORT":                    "http.port",
	"LOG_LEVEL":               "log.level",

	"OTEL_EXPORTER_OTLP_ENDPOINT": "tracing.endpoint",
	"OTEL_SERVICE_NAME":           "tracing.service_name",
}

// secondsVar is the original's variable in float seconds ("10.0").
const secondsVar = "KAFKA_GIFT_CODE_TIMEOUT"

// FromVars maps variables (from the environment or a .env file) onto keys:
// the original's names first, then RPS_ names over them, a key's own RPS_
// name over its aliases'. known maps every name a key may be set by to the
// key (see keytree.Loader.Known); secret says which keys hold credentials,
// whose RPS_ variable may name a file instead (readFiles). An RPS_ name
// that is no key is an error, so a typo cannot pass silently, unless it is
// a Kubernetes service link (IsServiceLink); other names are ignored.
func FromVars(vars map[string]string, where string, known map[string]string, secret func(key string) bool) (keytree.Layer, error) {
	vars, via, err := readFiles(vars, where, known, secret)
	if err != nil {
		return keytree.Layer{}, err
	}
	origin := func(name string) string {
		if file, ok := via[name]; ok {
			name = file
		}
		return name + " in " + where
	}
	l := keytree.NewLayer()
	for _, name := range slices.Sorted(maps.Keys(OriginalNames)) {
		v, ok := vars[name]
		if !ok {
			continue
		}
		key := OriginalNames[name]
		if name == secondsVar {
			v = SecondsToDuration(v)
		}
		l.Values[key], l.Origins[key] = v, name+" in "+where
	}
	for _, name := range slices.Sorted(maps.Keys(vars)) {
		key, ok := varKey(name)
		if !ok || name == ConfigFileVar {
			continue
		}
		if prop, ok := settingName(key); ok {
			l.Settings[prop], l.Origins[keytree.SettingsKey+"."+prop] = vars[name], origin(name)
			continue
		}
		to, ok := known[key]
		if !ok {
			if IsServiceLink(name, vars[name]) {
				continue // Kubernetes' variable for a Service, not a setting
			}
			return keytree.Layer{}, unknownVar(name, where, known)
		}
		if _, own := vars[VarName(to)]; own && to != key {
			continue // the key's own name wins over an alias
		}
		l.Values[to], l.Origins[to] = vars[name], origin(name)
	}
	return l, nil
}

// varKey is the key an RPS_ variable names: RPS_GATE__CAPACITY is
// gate.capacity.
func varKey(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, envPrefix)
	return strings.ToLower(strings.ReplaceAll(rest, "__", ".")), ok
}

// settingName is the librdkafka property a key below kafka.settings names:
// kafka.settings.linger_ms is linger.ms.
func settingName(key string) (string, bool) {
	prop, ok := strings.CutPrefix(key, keytree.SettingsKey+".")
	return strings.ReplaceAll(prop, "_", "."), ok
}

func unknownVar(name, where string, known map[string]string) error {
	names := make([]string, 0, len(known))
	for key := range known {
		names = append(names, VarName(key))
	}
	msg := fmt.Sprintf("config: unknown setting %s in %s", name, where)
	base, file := strings.CutSuffix(name, FileSuffix)
	if s := keytree.Suggest(base, names); s != "" && file {
		msg += fmt.Sprintf(" (did you mean %s?)", s+FileSuffix)
	} else if s := keytree.Suggest(name, names); s != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", s)
	}
	return fmt.Errorf("%s; see configs/example.yaml for the keys", msg)
}

// VarName is the RPS_ variable of a key: gate.capacity is RPS_GATE__CAPACITY.
func VarName(key string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "__"))
}

// SecondsToDuration accepts the original's float seconds ("10.0", "2.5") as
// well as a Go duration ("10s"), which passes through unchanged.
func SecondsToDuration(v string) string {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || math.IsNaN(f) || math.Abs(f) > math.MaxInt64/float64(time.Second) {
		return v // left for the duration parser to reject, naming the variable
	}
	return time.Duration(f * float64(time.Second)).String()
}

// ParseEnviron turns KEY=VALUE pairs into a map; a later pair wins, as in
// os/exec. Entries without "=" are skipped.
func ParseEnviron(environ []string) map[string]string {
	vars := make(map[string]string, len(environ))
	for _, kv := range environ {
		if name, v, ok := strings.Cut(kv, "="); ok && name != "" {
			vars[name] = v
		}
	}
	return vars
}

// Reads reports whether a variable is read: one of the original's names,
// RPS_CONFIG, the RPS_ variable of a name in known (a key or an alias;
// any RPS_KAFKA__SETTINGS__ suffix, a librdkafka property), or the _FILE
// variable of a secret.
func Reads(name string, known map[string]string, secret func(key string) bool) bool {
	if _, ok := OriginalNames[name]; ok || name == ConfigFileVar {
		return true
	}
	if _, ok := secretFileVar(name, known, secret); ok {
		return true
	}
	if strings.HasPrefix(name, VarName(keytree.SettingsKey)+"__") {
		return true
	}
	for key := range known {
		if VarName(key) == name {
			return true
		}
	}
	return false
}
