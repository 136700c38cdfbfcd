package configs

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// FairConfig is how the gate shares its capacity between clients
// (docs/fair-share.md). On by default, keyed by the client's address, so a
// fresh install is fair without configuration.
type FairConfig struct {
	// Enabled turns the share on; off, the gate only caps the total.
	Enabled bool `koanf:"enabled"`
	// Identity says who a client is: "ip" (the address echo's RealIP
	// gives under http.trusted_proxies) or "header" (an API key in
	// Header, hashed before use). A request without one is anonymous.
	Identity string `koanf:"identity"`
	// Header is the request header holding the API key (identity: header).
	Header string `koanf:"header"`
	// IPv6Prefix groups IPv6 addresses into one client per prefix of this
	// many bits (identity: ip): one host commonly holds a whole /64.
	IPv6Prefix int `koanf:"ipv6_prefix"`
	// Headroom is the fraction of gate.capacity kept for clients below
	// their fair share, held or free: a client at or above its share may
	// not take the last free slots while they hold less than this.
	Headroom float64 `koanf:"headroom"`
	// CriticalReserve is the fraction of gate.capacity only critical
	// classes may take.
	CriticalReserve float64 `koanf:"critical_reserve"`
	// Classes are the classes and their limits, ";"-separated, each a name
	// and its settings: "partner weight=4 ceiling=40 rate=200 burst=50;
	// ops critical". ParseClasses reads it.
	Classes string `koanf:"classes"`
	// Keys map API keys to classes by the hex SHA-256 of the key, never the
	// key itself: "HASH=class", separated by commas or white space.
	// Masked in the log, and readable from RPS_FAIR__KEYS_FILE.
	Keys string `koanf:"keys" redact:"value"`
}

// Identities of fair.identity.
const (
	IdentityIP     = "ip"
	IdentityHeader = "header"
)

// DefaultClassName is the class of every client no key places elsewhere;
// fair.classes may set its limits.
const DefaultClassName = "default"

// FairClass is one class's limits as configured; zero means no limit.
type FairClass struct {
	Weight   int     // share weight, at least 1 (default 1)
	Ceiling  int     // most slots one client of the class holds
	Rate     float64 // requests per second one client may start
	Burst    int     // requests at once above Rate; 0: ⌈Rate⌉
	Critical bool    // may use fair.critical_reserve
}

var (
	classNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)
	keyHashRE   = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// ParseClasses reads fair.classes into the classes by name. The default
// class is always there, with weight 1 unless configured.
func (c FairConfig) ParseClasses() (map[string]FairClass, error) {
	out := map[string]FairClass{DefaultClassName: {Weight: 1}}
	seen := map[string]bool{}
	for part := range strings.SplitSeq(c.Classes, ";") {
		fields := strings.Fields(part)
		if len(fields) == 0 {
			continue
		}
		name := fields[0]
		if !classNameRE.MatchString(name) {
			return nil, fmt.Errorf("class name %q is not 1-32 of a-z, 0-9, _ and - (starting with a letter or digit)", name)
		}
		if seen[name] {
			return nil, fmt.Errorf("class %s is set twice", name)
		}
		seen[name] = true
		cl, err := parseClass(fields[1:])
		if err != nil {
			return nil, fmt.Errorf("class %s: %w", name, err)
		}
		out[name] = cl
	}
	return out, nil
}

// parseClass reads one class's settings: weight=N ceiling=N rate=R burst=N
// critical.
func parseClass(settings []string) (FairClass, error) {
	cl := FairClass{Weight: 1}
	for _, s := range settings {
		name, value, hasValue := strings.Cut(s, "=")
		var err error
		switch name {
		case "weight":
			cl.Weight, err = atLeast(value, 1)
		case "ceiling":
			cl.Ceiling, err = atLeast(value, 0)
		case "burst":
			cl.Burst, err = atLeast(value, 0)
		case "rate":
			cl.Rate, err = strconv.ParseFloat(value, 64)
			if err == nil && (cl.Rate < 0 || math.IsInf(cl.Rate, 0) || math.IsNaN(cl.Rate)) {
				err = errors.New("must be 0 or more")
			}
		case "critical":
			cl.Critical = true
			if hasValue {
				cl.Critical, err = strconv.ParseBool(value)
			}
		default:
			return FairClass{}, fmt.Errorf("unknown setting %q (weight, ceiling, rate, burst, critical)", name)
		}
		if err != nil {
			return FairClass{}, fmt.Errorf("%s=%s: %w", name, value, unwrapNum(err))
		}
	}
	if cl.Burst > 0 && cl.Rate == 0 {
		return FairClass{}, fmt.Errorf("burst=%d needs a rate", cl.Burst)
	}
	return cl, nil
}

// ParseKeys reads fair.keys: the hex SHA-256 of each API key, lower case,
// mapped to its class.
func (c FairConfig) ParseKeys() (map[string]string, error) {
	out := map[string]string{}
	for pair := range strings.FieldsFuncSeq(c.Keys, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' || r == '\r' }) {
		hash, class, ok := strings.Cut(pair, "=")
		hash = strings.ToLower(hash)
		switch {
		case !ok || class == "":
			return nil, fmt.Errorf("entry %q is not HASH=class", shortHash(pair))
		case !keyHashRE.MatchString(hash):
			return nil, fmt.Errorf("%q is not the 64 hex digits of a SHA-256 (sha256sum of the key)", shortHash(hash))
		}
		if prev, dup := out[hash]; dup && prev != class {
			return nil, fmt.Errorf("key %s… is mapped to %s and to %s", hash[:8], prev, class)
		}
		out[hash] = class
	}
	return out, nil
}

// fairError returns the first invalid fair.* setting, nil when all are valid.
func (c Config) fairError() *KeyError {
	f := c.Fair
	bad := func(key, format string, args ...any) *KeyError {
		return &KeyError{Keys: []string{key}, Msg: key + " " + fmt.Sprintf(format, args...)}
	}
	switch {
	case f.Identity != IdentityIP && f.Identity != IdentityHeader:
		return bad("fair.identity", "must be ip or header (got %q)", f.Identity)
	case f.Identity == IdentityHeader && !validHeaderName(f.Header):
		return bad("fair.header", "must be a header name such as X-API-Key (got %q)", f.Header)
	case f.IPv6Prefix < 1 || f.IPv6Prefix > 128:
		return bad("fair.ipv6_prefix", "must be between 1 and 128 (got %d)", f.IPv6Prefix)
	case f.Headroom < 0 || f.Headroom >= 1:
		return bad("fair.headroom", "must be a fraction of gate.capacity, 0 or more and below 1 (got %v)", f.Headroom)
	case f.CriticalReserve < 0 || f.CriticalReserve >= 1:
		return bad("fair.critical_reserve", "must be a fraction of gate.capacity, 0 or more and below 1 (got %v)", f.CriticalReserve)
	case f.Headroom+f.CriticalReserve >= 1:
		return &KeyError{Keys: []string{"fair.headroom", "fair.critical_reserve"}, Msg: fmt.Sprintf(
			"fair.headroom + fair.critical_reserve must be below 1, or no slot is left for anyone (got %v + %v)", f.Headroom, f.CriticalReserve)}
	}
	classes, err := f.ParseClasses()
	if err != nil {
		return bad("fair.classes", "is invalid: %v", err)
	}
	keys, err := f.ParseKeys()
	if err != nil {
		return bad("fair.keys", "is invalid: %v", err)
	}
	for _, hash := range slices.Sorted(maps.Keys(keys)) {
		if _, ok := classes[keys[hash]]; !ok {
			return bad("fair.keys", "maps key %s… to class %s, which fair.classes does not define", hash[:8], keys[hash])
		}
	}
	return nil
}

// atLeast parses a whole number of at least lowest.
func atLeast(s string, lowest int) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, err
	}
	if n < lowest {
		return 0, fmt.Errorf("must be at least %d", lowest)
	}
	return n, nil
}

// unwrapNum drops strconv's function name from a parse error.
func unwrapNum(err error) error {
	var ne *strconv.NumError
	if errors.As(err, &ne) {
		return errors.New("not a number")
	}
	return err
}

// shortHash cuts what might be a raw key pasted by mistake, so an error
// message never repeats a secret in full.
func shortHash(s string) string {
	if len(s) > 8 {
		return s[:8] + "…"
	}
	return s
}

// validHeaderName reports whether name is an HTTP field name (RFC 9110 token).
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for _, r := range name {
		if r > 0x7e || r <= 0x20 || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) {
			return false
		}
	}
	return http.CanonicalHeaderKey(name) != ""
}
