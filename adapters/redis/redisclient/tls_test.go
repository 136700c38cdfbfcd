package redisclient_test

import (
	"context"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/rueidis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/adapters/redis/redisclient"
	"github.com/1000x-rps-server/rps-server/adapters/redis/redisgate"
	"github.com/1000x-rps-server/rps-server/adapters/redis/redisidem"
	"github.com/1000x-rps-server/rps-server/adapters/redis/redisledger"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/ports"
	"github.com/1000x-rps-server/rps-server/tests/infra"
)

// secured is a throwaway redis-server that speaks TLS only, wants a client
// certificate signed by its CA, and knows one ACL user with a password (the
// default user is off), with a client config that gets through.
func secured(t *testing.T) (*infra.ThrowawayRedis, redisclient.Config) {
	t.Helper()
	pki := infra.NewPKI(t)
	r := infra.StartRedis(t, infra.WithTLS(pki), infra.WithACLUser(user, password))
	cfg := config(r.URL())
	cfg.Username, cfg.Password = user, password
	cfg.TLS = redisclient.TLS{CAFile: pki.CAFile, CertFile: pki.ClientCertFile, KeyFile: pki.ClientKeyFile}
	return r, cfg
}

// roundTrip writes and reads a key through c.
func roundTrip(t *testing.T, c rueidis.Client) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, c.Do(ctx, c.B().Set().Key("k").Value("v").Build()).Error())
	v, err := c.Do(ctx, c.B().Get().Key("k").Build()).ToString()
	require.NoError(t, err)
	assert.Equal(t, "v", v)
}

func TestTLSAndACL(t *testing.T) {
	r, good := secured(t)
	t.Run("the_right_ca_certificate_and_password_serve_every_adapter", func(t *testing.T) {
		client := open(t, good)
		roundTrip(t, client)
		// One client, handed to each Redis adapter, as the binaries do.
		ctx := context.Background()
		g, err := redisgate.NewPerRequestGate(ctx, client, redisgate.Config{
			Key: "{tls}:gate", Capacity: 1, Lease: 10 * time.Second, Hold: 5 * time.Second, CommandTimeout: time.Second,
			Logger: slog.New(slog.DiscardHandler), Registerer: prometheus.NewRegistry(),
		})
		require.NoError(t, err)
		defer g.Close()
		slot, err := g.Acquire(ctx, "request-1", domain.Client{})
		require.NoError(t, err)
		_, err = g.Acquire(ctx, "request-2", domain.Client{})
		require.ErrorIs(t, err, domain.ErrAtCapacity, "the slot is held in the TLS Redis")
		require.NoError(t, g.Release(ctx, slot))
		_, err = g.Acquire(ctx, "request-2", domain.Client{})
		require.NoError(t, err, "released")

		idem, err := redisidem.New(client, redisidem.Config{Prefix: "idem:", TTL: time.Minute, CommandTimeout: time.Second})
		require.NoError(t, err)
		entry, err := idem.Begin(ctx, "key-1", ports.Claim{Fingerprint: "f", TaskID: "task-1", Token: "t", Lease: time.Second})
		require.NoError(t, err)
		assert.Equal(t, ports.Claimed, entry.State)

		ledger, err := redisledger.New(client, redisledger.Config{Prefix: "issued:", TTL: time.Minute, Window: time.Minute, CommandTimeout: time.Second,
			Registerer: prometheus.NewRegistry(), Logger: slog.New(slog.DiscardHandler)})
		require.NoError(t, err)
		defer ledger.Close()
		first, err := ledger.Record(ctx, "task-1", "GIFT-A")
		require.NoError(t, err)
		again, err := ledger.Record(ctx, "task-1", "GIFT-B")
		require.NoError(t, err)
		assert.Equal(t, first, again)
	})
	t.Run("a_wrong_password_fails_naming_the_authentication", func(t *testing.T) {
		cfg := good
		cfg.Password = "not-" + password
		err := newFails(t, cfg)
		assert.ErrorContains(t, err, `redis client: authentication as user "rps-app" at `+r.Addr()+" failed")
		assert.ErrorContains(t, err, "WRONGPASS")
		assert.NotErrorIs(t, err, domain.ErrUnavailable, "a setting to fix, not Redis down")
		assert.NotContains(t, err.Error(), cfg.Password)
	})
	t.Run("no_credentials_fail_naming_the_authentication", func(t *testing.T) {
		cfg := good
		cfg.Username, cfg.Password = "", ""
		err := newFails(t, cfg)
		assert.ErrorContains(t, err, `redis client: authentication as user "default" at `+r.Addr()+" failed")
	})
	t.Run("an_untrusted_certificate_fails_naming_the_certificate", func(t *testing.T) {
		cfg := good
		cfg.TLS.CAFile = infra.NewPKI(t).CAFile // another CA: the server's certificate is not signed by it
		err := newFails(t, cfg)
		assert.ErrorContains(t, err, "redis client: TLS to "+r.Addr()+": the server's certificate is not trusted")
		assert.ErrorContains(t, err, "x509: certificate signed by unknown authority")
		assert.NotErrorIs(t, err, domain.ErrUnavailable, "a setting to fix, not Redis down")
	})
	t.Run("a_certificate_for_another_name_is_not_trusted", func(t *testing.T) {
		cfg := good
		cfg.TLS.ServerName = "redis.example.org"
		err := newFails(t, cfg)
		assert.ErrorContains(t, err, "the server's certificate is not trusted")
		assert.ErrorContains(t, err, "redis.example.org")
	})
	t.Run("without_a_client_certificate_the_handshake_fails", func(t *testing.T) {
		cfg := good
		cfg.TLS.CertFile, cfg.TLS.KeyFile = "", ""
		err := newFails(t, cfg)
		assert.ErrorContains(t, err, "redis client: TLS with "+r.Addr()+" failed")
	})
	t.Run("plain_tcp_to_a_tls_port_fails", func(t *testing.T) {
		cfg := good
		cfg.URL, cfg.TLS = strings.Replace(r.URL(), "rediss://", "redis://", 1), redisclient.TLS{}
		err := newFails(t, cfg) // the server drops a connection that starts with no handshake
		assert.ErrorContains(t, err, "redis client: connect to "+r.Addr())
	})
	// The URL forms that work without the named settings keep working.
	t.Run("credentials_in_the_url", func(t *testing.T) {
		cfg := good
		cfg.Username, cfg.Password = "", ""
		u, err := url.Parse(r.URL())
		require.NoError(t, err)
		u.User = url.UserPassword(user, password)
		cfg.URL = u.String()
		roundTrip(t, open(t, cfg))
	})
	t.Run("settings_replace_the_url_credentials", func(t *testing.T) {
		cfg := good
		u, err := url.Parse(r.URL())
		require.NoError(t, err)
		u.User = url.UserPassword(user, "stale-password")
		cfg.URL = u.String()
		roundTrip(t, open(t, cfg))
	})
	t.Run("skip_verify_in_the_url", func(t *testing.T) {
		cfg := good
		cfg.URL, cfg.TLS.CAFile = r.URL()+"?skip_verify=true", ""
		roundTrip(t, open(t, cfg))
	})
	t.Run("insecure_skip_verify", func(t *testing.T) {
		cfg := good
		cfg.TLS.CAFile, cfg.TLS.InsecureSkipVerify = "", true
		roundTrip(t, open(t, cfg))
	})
}
