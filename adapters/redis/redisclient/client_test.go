package redisclient_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/1000x-rps-server/rps-server/adapters/redis/redisclient"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/tests/infra"
)

// rueidis's cluster probe may leave a bounded topology refresh running for
// up to 1 s after a failed connection (see redisgate's TestMain).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/redis/rueidis.(*call).DelayDo.func1"))
}

// Credentials of the ACL user the throwaway servers here know.
const (
	user     = "rps-app"
	password = "s3cret-for-tests"
)

// config is a client config for url with test timeouts.
func config(url string) redisclient.Config {
	return redisclient.Config{URL: url, DialTimeout: time.Second, CommandTimeout: time.Second}
}

// open builds a client that must connect, closed when the test ends.
func open(t *testing.T, cfg redisclient.Config) rueidis.Client {
	t.Helper()
	c, err := redisclient.New(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// newFails builds a client that must not connect, and returns why.
func newFails(t *testing.T, cfg redisclient.Config) error {
	t.Helper()
	c, err := redisclient.New(context.Background(), cfg)
	if c != nil {
		c.Close()
	}
	require.Error(t, err)
	t.Log(err)
	return err
}

func TestNewRefusesBadConfig(t *testing.T) {
	ok := config("redis://127.0.0.1:1/0")
	// Checked before anything is dialled: a missing or contradictory
	// setting is named, and it is not Redis being unavailable.
	for name, tt := range map[string]struct {
		mutate func(*redisclient.Config)
		want   string
	}{
		"no_url":             {func(c *redisclient.Config) { c.URL = "" }, "redis client: url must be set"},
		"bad_url":            {func(c *redisclient.Config) { c.URL = "http://x" }, "redis client: parse url"},
		"no_dial_timeout":    {func(c *redisclient.Config) { c.DialTimeout = 0 }, "redis client: dial timeout must be positive (got 0s)"},
		"no_command_timeout": {func(c *redisclient.Config) { c.CommandTimeout = 0 }, "redis client: command timeout must be positive (got 0s)"},
		"negative_flush":     {func(c *redisclient.Config) { c.MaxFlushDelay = -1 }, "redis client: max flush delay must not be negative"},
		"tls_without_rediss": {func(c *redisclient.Config) { c.TLS.CAFile = "ca.pem" }, "redis client: TLS settings need a rediss:// url"},
		"cert_without_key": {func(c *redisclient.Config) { c.URL, c.TLS.CertFile = "rediss://127.0.0.1:1/0", "client.pem" },
			"redis client: a TLS client certificate needs both its certificate file and its key file"},
		"missing_ca_file": {func(c *redisclient.Config) { c.URL, c.TLS.CAFile = "rediss://127.0.0.1:1/0", "/nonexistent/ca.pem" },
			"redis client: TLS CA file: open /nonexistent/ca.pem"},
		"sentinel_and_cluster": {func(c *redisclient.Config) {
			c.Sentinel.MasterSet, c.ClusterAddrs = "mymaster", []string{"127.0.0.1:2"}
		},
			"redis client: sentinel and cluster addresses exclude each other"},
		"sentinel_password_without_master_set": {func(c *redisclient.Config) { c.Sentinel.Password = "x" },
			"redis client: sentinel credentials need a sentinel master set"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := ok
			tt.mutate(&cfg)
			err := newFails(t, cfg)
			require.ErrorContains(t, err, tt.want)
			require.NotErrorIs(t, err, domain.ErrUnavailable)
		})
	}
	t.Run("parse_error_hides_the_password", func(t *testing.T) {
		cfg := ok
		cfg.URL = "redis://u:hunter2@127.0.0.1:80x/0"
		err := newFails(t, cfg)
		require.ErrorContains(t, err, "redis client: parse url")
		assert.NotContains(t, err.Error(), "hunter2")
	})
	t.Run("unreachable", func(t *testing.T) {
		err := newFails(t, ok)
		require.ErrorIs(t, err, domain.ErrUnavailable)
		assert.ErrorContains(t, err, "redis client: connect to 127.0.0.1:1")
	})
}

// The connections carry the client name, unless the URL's client_name=
// names them.
func TestNew_NamesTheConnections(t *testing.T) {
	url := infra.RedisURL(t)
	cfg := config(url)
	cfg.ClientName = "rps-test"
	c := open(t, cfg)
	name, err := c.Do(context.Background(), c.B().ClientGetname().Build()).ToString()
	require.NoError(t, err)
	assert.Equal(t, "rps-test", name)

	cfg.URL = url + "?client_name=from-url"
	c = open(t, cfg)
	name, err = c.Do(context.Background(), c.B().ClientGetname().Build()).ToString()
	require.NoError(t, err)
	assert.Equal(t, "from-url", name)
}
