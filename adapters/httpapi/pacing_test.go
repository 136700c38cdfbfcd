package httpapi_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/mock/gomock"

	"github.com/1000x-rps-server/rps-server/adapters/httpapi"
	"github.com/1000x-rps-server/rps-server/domain"
)

// A client that sends again on the same connection the moment it is
// refused, ignoring Retry-After, has its connection's next request read
// only after the Retry-After (Config.RefusalPause at most), and the hold is
// counted; unless the connection is a trusted proxy's, which carries other
// clients' requests too.
func TestQueue_AConnectionThatIgnoresRetryAfterIsHeld(t *testing.T) {
	const pause = 400 * time.Millisecond
	waited, metrics := refusedTwiceThenWait(t, pause, nil)
	assert.GreaterOrEqual(t, waited, pause/2, "the next request waited (a hold is at least half the pause)")
	assert.Contains(t, metrics, "\nrps_http_connections_held_total 1\n", "one hold, counted")

	_, loopback, err := net.ParseCIDR("127.0.0.0/8")
	require.NoError(t, err)
	waited, metrics = refusedTwiceThenWait(t, 5*time.Second, []*net.IPNet{loopback})
	assert.Less(t, waited, 900*time.Millisecond, "a trusted proxy's connection is never held (a hold of the 2 s Retry-After is at least 1 s)")
	assert.Contains(t, metrics, "\nrps_http_connections_held_total 0\n")
}

// refusedTwiceThenWait serves the API with the given pause and trusted
// proxies on loopback, has one connection refused twice in a row and then
// send GET /, and returns how long after the second refusal that answer
// came, and the API's /metrics then.
func refusedTwiceThenWait(t *testing.T, pause time.Duration, proxies []*net.IPNet) (time.Duration, string) {
	t.Helper()
	api, sub := newAPI(t, func(c *httpapi.Config) { c.RefusalPause, c.TrustedProxies = pause, proxies })
	sub.EXPECT().Submit(gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any()).
		Return(domain.Result{}, fmt.Errorf("acquire slot: %w", domain.ErrAtCapacity)).Times(2)

	srv := &http.Server{Handler: api, ReadHeaderTimeout: 5 * time.Second}
	stop := api.Pace(srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan struct{})
	go func() { defer close(served); _ = srv.Serve(ln) }()
	defer func() { _ = srv.Close(); stop(); <-served }()

	c, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	r := bufio.NewReader(c)
	send := func(method, path string) (int, time.Time) {
		_, err := io.WriteString(c, method+" "+path+" HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
		require.NoError(t, err)
		resp, err := http.ReadResponse(r, nil)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		require.NoError(t, resp.Body.Close())
		return resp.StatusCode, time.Now()
	}
	status, _ := send(http.MethodPost, "/queue")
	require.Equal(t, http.StatusTooManyRequests, status)
	status, refused := send(http.MethodPost, "/queue") // before the first one's Retry-After: ignored
	require.Equal(t, http.StatusTooManyRequests, status)
	status, answered := send(http.MethodGet, "/")
	require.Equal(t, http.StatusOK, status)
	return answered.Sub(refused), get(api, "/metrics").Body.String()
}
