package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/adapters/redis/redisclient"
	"github.com/1000x-rps-server/rps-server/tests/infra"
)

// securedRedis is a throwaway Redis that speaks TLS only, wants a client
// certificate, and knows one ACL user; environ reaches it through the
// redis.* settings, and client looks at it from outside.
func securedRedis(t *testing.T) (environ []string, client redisclient.Config) {
	t.Helper()
	pki := infra.NewPKI(t)
	r := infra.StartRedis(t, infra.WithTLS(pki), infra.WithACLUser("rps-app", "app-password"))
	environ = []string{
		"REDIS_URL=" + r.URL(),
		"RPS_REDIS__USERNAME=rps-app", "RPS_REDIS__PASSWORD=app-password",
		"RPS_REDIS__TLS__CA_FILE=" + pki.CAFile,
		"RPS_REDIS__TLS__CERT_FILE=" + pki.ClientCertFile, "RPS_REDIS__TLS__KEY_FILE=" + pki.ClientKeyFile,
	}
	client = redisclient.Config{
		URL: r.URL(), Username: "rps-app", Password: "app-password", ClientName: "test-observer",
		TLS:         redisclient.TLS{CAFile: pki.CAFile, CertFile: pki.ClientCertFile, KeyFile: pki.ClientKeyFile},
		DialTimeout: 2 * time.Second, CommandTimeout: 2 * time.Second,
	}
	return environ, client
}

// The server reaches a Redis over TLS with an ACL user through the named
// settings, and its gate and idempotency store share one client: every
// connection it opens carries the one client name.
func TestRun_RedisOverTLSWithACL_OneClient(t *testing.T) {
	environ, observerCfg := securedRedis(t)
	base, logs := startServer(t, environ)

	for i := range 3 {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, base+"/queue", http.NoBody)
		require.NoError(t, err)
		req.Header.Set("Idempotency-Key", fmt.Sprint("key-", i))
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	}
	assert.Contains(t, logs.String(), `"msg":"redis client ready","tls":true`)

	observer, err := redisclient.New(context.Background(), observerCfg)
	require.NoError(t, err)
	defer observer.Close()
	list, err := observer.Do(context.Background(), observer.B().ClientList().Build()).ToString()
	require.NoError(t, err)
	var names []string
	for line := range strings.Lines(list) {
		for field := range strings.FieldsSeq(line) {
			if name, ok := strings.CutPrefix(field, "name="); ok && name != "test-observer" {
				names = append(names, name)
			}
		}
	}
	require.NotEmpty(t, names, list)
	for _, n := range names {
		assert.Equal(t, "rps-server", n, "every connection of the server is its one client's:\n%s", list)
	}
	keys, err := observer.Do(context.Background(), observer.B().Keys().Pattern("rps:idem:*").Build()).AsStrSlice()
	require.NoError(t, err)
	assert.NotEmpty(t, keys, "the idempotency store wrote through the TLS client")
}

// A wrong password stops the start with one line that names the
// authentication, not a Redis outage.
func TestRun_RedisWrongPasswordFailsAtStart(t *testing.T) {
	environ, _ := securedRedis(t)
	environ = append(environ, "HOST=127.0.0.1", "PORT=0", "RPS_REDIS__PASSWORD=wrong-password")
	err := run(context.Background(), testBuild, []string{"-env", "testdata/none.env"}, environ, io.Discard, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `redis client: authentication as user "rps-app"`)
	assert.NotContains(t, err.Error(), "wrong-password")
	assert.NotContains(t, err.Error(), "\n", "one line")
}

// A CA that did not sign the server's certificate stops the start naming it.
func TestRun_RedisUntrustedCertificateFailsAtStart(t *testing.T) {
	environ, _ := securedRedis(t)
	environ = append(environ, "HOST=127.0.0.1", "PORT=0", "RPS_REDIS__TLS__CA_FILE="+infra.NewPKI(t).CAFile)
	err := run(context.Background(), testBuild, []string{"-env", "testdata/none.env"}, environ, io.Discard, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the server's certificate is not trusted")
}

// A Redis whose policy may evict keys stops the start: evicted leases and
// records would break the cap and exactly-once issuance silently, later.
func TestRun_RedisThatMayEvictFailsAtStart(t *testing.T) {
	r := infra.StartRedis(t, infra.WithArgs("--maxmemory", "100mb", "--maxmemory-policy", "volatile-lru"))
	environ := []string{"HOST=127.0.0.1", "PORT=0", "REDIS_URL=" + r.URL()}
	err := run(context.Background(), testBuild, []string{"-env", "testdata/none.env"}, environ, io.Discard, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "maxmemory-policy is volatile-lru")
	assert.Contains(t, err.Error(), "set maxmemory-policy to noeviction")
	assert.NotContains(t, err.Error(), "\n", "one line")
}

// A Redis that will not show its config (as managed ones often do) is used,
// and the log says once what to check by hand.
func TestRun_RedisHidingItsConfigWarnsOnce(t *testing.T) {
	r := infra.StartRedis(t, infra.WithArgs("--rename-command", "CONFIG", ""))
	base, logs := startServer(t, []string{"REDIS_URL=" + r.URL()})
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, base+"/queue", http.NoBody)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, 1, strings.Count(logs.String(), "cannot check Redis's maxmemory-policy"), logs.String())
	assert.Contains(t, logs.String(), `"level":"WARN","msg":"cannot check Redis's maxmemory-policy`)
}
