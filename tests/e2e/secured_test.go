package e2e_test

import (
	"context"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/domain"
	testinfra "github.com/1000x-rps-server/rps-server/tests/infra"
)

// Kafka as managed services run it: a SASL_SSL listener, SCRAM-SHA-512
// logins over TLS. The server and the worker connect with exactly the
// settings docs/configuration.md ("Managed Kafka") gives, and a request
// goes the whole way. A wrong password, and a broker certificate signed by
// a CA the clients do not trust, each stop the server and the worker at
// start with an error naming what failed, not a 503 for ever. The password
// is in no log line.
func TestSecuredKafka_SASLSCRAMOverTLS(t *testing.T) {
	in := needInfra(t)
	k := testinfra.StartSecureKafka(t)

	t.Run("full_path", func(t *testing.T) {
		s := newStack(t, in, k.ClientEnv(k.Password, k.PKI.CAFile)...)
		s.startWorker(t)
		base := s.startServer(t)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		status, code, err := testinfra.PostQueue(ctx, http.DefaultClient, base)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status)
		assert.True(t, domain.IsGiftCode(code), "a gift code: %q", code)
		for _, p := range append(slices.Clone(s.servers), s.workers...) {
			assert.NotContains(t, readLog(t, p), k.Password, "the %s logs the password", p.name)
		}
	})

	for _, tc := range []struct {
		name string
		env  []string
		want string // in the error each binary exits with
	}{
		{"wrong_password", k.ClientEnv("not-"+k.Password, k.PKI.CAFile),
			`kafka SASL authentication failed as user "rps" (check kafka.settings sasl.mechanisms, sasl.username and sasl.password): `},
		{"untrusted_certificate", k.ClientEnv(k.Password, testinfra.NewPKI(t).CAFile),
			"kafka TLS handshake failed: the broker's certificate could not be verified"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t, in, tc.env...)
			_, port, err := net.SplitHostPort(testinfra.FreeAddr(t))
			require.NoError(t, err)
			for name, env := range map[string]string{
				"server": "PORT=" + port,
				"worker": "RPS_WORKER__METRICS_ADDR=" + testinfra.FreeAddr(t),
			} {
				start := time.Now()
				p := startProc(t, name, append(slices.Clone(s.env), env))
				select {
				case <-p.done:
				case <-time.After(30 * time.Second):
					t.Fatalf("%s still running 30 s after its start: it should have stopped", name)
				}
				took := time.Since(start)
				log := readLog(t, p)
				require.Error(t, p.err, "%s exits with an error", name)
				lines := strings.Split(strings.TrimSpace(log), "\n")
				last := lines[len(lines)-1]
				assert.True(t, strings.HasPrefix(last, name+": "), "%s's last line is its exit error: %s", name, last)
				assert.Contains(t, last, tc.want)
				assert.NotContains(t, log, k.Password, "the %s logs the password", name)
				assert.Less(t, took, 10*time.Second, "%s stops at its first connection, not after a timeout", name)
				t.Logf("%s stopped in %s: %s", name, took.Round(time.Millisecond), last)
			}
		})
	}
}

func readLog(t *testing.T, p *proc) string {
	t.Helper()
	b, err := os.ReadFile(p.log)
	require.NoError(t, err)
	return string(b)
}
