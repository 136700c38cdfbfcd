package configs_test

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/configs"
)

func sha(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

func TestFair_OnAndKeyedByAddressByDefault(t *testing.T) {
	f := load(t, configs.LoadOptions{}).Fair
	assert.True(t, f.Enabled, "a fresh install is fair")
	assert.Equal(t, configs.IdentityIP, f.Identity)
	assert.Equal(t, "X-API-Key", f.Header)
	assert.Equal(t, 64, f.IPv6Prefix)
	assert.InDelta(t, 0.1, f.Headroom, 1e-9)
	assert.Zero(t, f.CriticalReserve)
	classes, err := f.ParseClasses()
	require.NoError(t, err)
	assert.Equal(t, map[string]configs.FairClass{configs.DefaultClassName: {Weight: 1}}, classes)
}

func TestFair_ClassesAndKeysFromTheFileAndTheEnvironment(t *testing.T) {
	keysFile := write(t, "keys", sha("partner-secret")+"=partner\n"+sha("ops-secret")+"=ops\n")
	cfg := load(t, layers(t, []string{
		"RPS_FAIR__IDENTITY=Header", "RPS_FAIR__HEADER=Authorization-Key", "RPS_FAIR__KEYS_FILE=" + keysFile,
	}, `
fair:
  critical_reserve: 0.2
  classes: "partner weight=4 ceiling=40 rate=200 burst=50; ops critical; default rate=10"
`, ""))
	assert.Equal(t, configs.IdentityHeader, cfg.Fair.Identity, "identity is read in any case")
	assert.Equal(t, "Authorization-Key", cfg.Fair.Header)
	classes, err := cfg.Fair.ParseClasses()
	require.NoError(t, err)
	assert.Equal(t, map[string]configs.FairClass{
		"partner": {Weight: 4, Ceiling: 40, Rate: 200, Burst: 50},
		"ops":     {Weight: 1, Critical: true},
		"default": {Weight: 1, Rate: 10},
	}, classes)
	keys, err := cfg.Fair.ParseKeys()
	require.NoError(t, err)
	assert.Equal(t, map[string]string{sha("partner-secret"): "partner", sha("ops-secret"): "ops"}, keys)
}

func TestFair_KeysAreMaskedWhenPrinted(t *testing.T) {
	cfg := configs.Default()
	cfg.Fair.Keys = sha("k") + "=default"
	var out strings.Builder
	require.NoError(t, cfg.WriteYAML(&out, nil))
	assert.NotContains(t, out.String(), sha("k"), "the key hashes are not printed")
	assert.Contains(t, out.String(), "classes:")
}

func TestFair_InvalidSettingsNameTheKey(t *testing.T) {
	hash := sha("a-key")
	cases := []struct {
		name, env, want string
	}{
		{"unknown_identity", "RPS_FAIR__IDENTITY=cookie", `fair.identity must be ip or header (got "cookie")`},
		{"bad_header", "RPS_FAIR__IDENTITY=header,RPS_FAIR__HEADER=X Key", `fair.header must be a header name`},
		{"ipv6_prefix", "RPS_FAIR__IPV6_PREFIX=0", "fair.ipv6_prefix must be between 1 and 128 (got 0)"},
		{"headroom_one", "RPS_FAIR__HEADROOM=1", "fair.headroom must be a fraction of gate.capacity"},
		{"reserve_negative", "RPS_FAIR__CRITICAL_RESERVE=-0.1", "fair.critical_reserve must be a fraction"},
		{"nothing_left", "RPS_FAIR__HEADROOM=0.5,RPS_FAIR__CRITICAL_RESERVE=0.5", "fair.headroom + fair.critical_reserve must be below 1"},
		{"class_name", "RPS_FAIR__CLASSES=Gold weight=2", `fair.classes is invalid: class name "Gold"`},
		{"class_twice", "RPS_FAIR__CLASSES=a;a", "class a is set twice"},
		{"weight_zero", "RPS_FAIR__CLASSES=a weight=0", "class a: weight=0: must be at least 1"},
		{"rate_word", "RPS_FAIR__CLASSES=a rate=fast", "class a: rate=fast: not a number"},
		{"burst_alone", "RPS_FAIR__CLASSES=a burst=3", "class a: burst=3 needs a rate"},
		{"unknown_setting", "RPS_FAIR__CLASSES=a share=3", `class a: unknown setting "share"`},
		{"raw_key", "RPS_FAIR__KEYS=my-raw-secret-key=default", `fair.keys is invalid: "my-raw-s…" is not the 64 hex digits`},
		{"no_class", "RPS_FAIR__KEYS=" + hash, "is not HASH=class"},
		{"undefined_class", "RPS_FAIR__KEYS=" + hash + "=gold", "maps key " + hash[:8] + "… to class gold, which fair.classes does not define"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := configs.Load(configs.LoadOptions{Environ: strings.Split(tc.env, ",")})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Contains(t, err.Error(), "in the environment", "says where it was set")
			assert.NotContains(t, err.Error(), "my-raw-secret-key", "a raw key is never repeated")
		})
	}
}
