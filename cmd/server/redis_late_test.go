package main

import (
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/tests/infra"
)

// Redis unreachable at start does not stop the server: with
// gate.fail_open it admits requests without a slot, as the setting says,
// and stays ready; failing closed it answers 503 with Retry-After and is
// not ready, rather than exit and crash-loop. (That the gate takes over
// once Redis answers is tested in serverapp.)
func TestRun_RedisUnreachableAtStart(t *testing.T) {
	for _, tt := range []struct {
		name     string
		failOpen string
		queue    int
		ready    int
	}{
		{"fail_open", "true", http.StatusOK, http.StatusOK},
		// Ready either way: Redis is shared by every instance, so its outage
		// is answered by each request (503 + Retry-After), not by the probe.
		{"fail_closed", "false", http.StatusServiceUnavailable, http.StatusOK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			base, logs := startServer(t, []string{"REDIS_URL=redis://" + infra.FreeAddr(t) + "/0", "RPS_GATE__FAIL_OPEN=" + tt.failOpen})

			resp, err := http.Post(base+"/queue", "", nil)
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			assert.Equal(t, tt.queue, resp.StatusCode, string(body))
			if tt.queue == http.StatusServiceUnavailable {
				assert.NotEmpty(t, resp.Header.Get("Retry-After"))
				assert.NotContains(t, string(body), "gift_code")
			}

			resp, err = http.Get(base + "/readyz")
			require.NoError(t, err)
			probe, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			assert.Equal(t, tt.ready, resp.StatusCode, string(probe))
			if tt.failOpen == "false" {
				assert.Contains(t, string(probe), `"redis":"down"`, "the probe's body says what is down")
			}
			assert.Contains(t, logs.String(), "redis unreachable at start")
		})
	}
}
