package envnames

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/1000x-rps-server/rps-server/configs/internal/keytree"
)

// FileSuffix makes a secret's RPS_ variable one that names a file holding
// the secret, as container platforms mount them (/run/secrets/…):
// RPS_REDIS__PASSWORD_FILE=/run/secrets/redis.
const FileSuffix = "_FILE"

// fileVar is what a name ending in FileSuffix stands for.
type fileVar struct {
	base   string // the variable it stands for: RPS_REDIS__PASSWORD
	secret bool   // whether that variable's key holds a credential
	prop   bool   // whether it is a librdkafka property's
}

// parseFileVar reports whether name is RPS_X_FILE where RPS_X is a key's
// (or an alias's) or a librdkafka property's variable, and name is no
// key's own (redis.tls.ca_file is a key: RPS_REDIS__TLS__CA_FILE).
func parseFileVar(name string, known map[string]string, secret func(key string) bool) (fileVar, bool) {
	base, ok := strings.CutSuffix(name, FileSuffix)
	if !ok {
		return fileVar{}, false
	}
	key, ok := varKey(name)
	if _, own := known[key]; !ok || own {
		return fileVar{}, false
	}
	baseKey, _ := varKey(base)
	if prop, ok := settingName(baseKey); ok {
		return fileVar{base: base, secret: keytree.SecretSetting(prop), prop: true}, true
	}
	to, ok := known[baseKey]
	return fileVar{base: base, secret: ok && secret(to)}, ok
}

// secretFileVar reports whether name is the _FILE variable of a secret.
func secretFileVar(name string, known map[string]string, secret func(key string) bool) (string, bool) {
	fv, ok := parseFileVar(name, known, secret)
	return fv.base, ok && fv.secret
}

// readFiles returns vars with each secret's _FILE variable replaced by the
// secret's own variable set to the file's content (trailing newlines
// trimmed), and by that variable the _FILE one that named the file. A
// secret set both ways, a file that cannot be read, or the _FILE variable of
// a setting that is no secret is an error naming the variable. A librdkafka
// property that is no credential keeps its name
// (sasl.oauthbearer.assertion.file is a property of its own).
func readFiles(vars map[string]string, where string, known map[string]string, secret func(key string) bool) (map[string]string, map[string]string, error) {
	out, via := vars, map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(vars)) {
		fv, ok := parseFileVar(name, known, secret)
		switch {
		case !ok || (fv.prop && !fv.secret):
			continue
		case !fv.secret:
			return nil, nil, fmt.Errorf("config: %s in %s: only secrets (passwords, URLs, kafka.settings credentials) are read from a file; set %s", name, where, fv.base)
		}
		if _, both := vars[fv.base]; both {
			return nil, nil, fmt.Errorf("config: %s and %s are both set in %s: set one", fv.base, name, where)
		}
		b, err := os.ReadFile(vars[name])
		if err != nil {
			return nil, nil, fmt.Errorf("config: %s in %s: %w", name, where, err) // names the file
		}
		if len(via) == 0 {
			out = maps.Clone(vars)
		}
		delete(out, name)
		out[fv.base], via[fv.base] = strings.TrimRight(string(b), "\r\n"), name
	}
	return out, via, nil
}
