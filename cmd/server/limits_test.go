package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Headers beyond http.max_header_bytes get 431 before any handler runs;
// headers within it are served. Go's own default would accept 1 MiB.
func TestRun_OversizedHeadersGet431(t *testing.T) {
	base, _ := startServer(t, []string{"RPS_HTTP__MAX_HEADER_BYTES=8192"})
	get := func(headerBytes int) int {
		t.Helper()
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, base+"/queue", nil)
		require.NoError(t, err)
		req.Header.Set("X-Padding", strings.Repeat("a", headerBytes))
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusOK, get(4<<10), "a 4 KiB header is fine")
	// net/http reads up to max_header_bytes + 4096 before it refuses.
	assert.Equal(t, http.StatusRequestHeaderFieldsTooLarge, get(64<<10), "a 64 KiB header is refused")
	assert.Equal(t, http.StatusRequestHeaderFieldsTooLarge, get(1<<20), "a 1 MiB header is refused")
}

// The default is small: tens of kB, not Go's 1 MiB.
func TestRun_DefaultHeaderLimit(t *testing.T) {
	base, _ := startServer(t, nil)
	conn, err := (&net.Dialer{}).DialContext(context.Background(), "tcp", strings.TrimPrefix(base, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	_, err = fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: %s\r\n\r\n", strings.Repeat("a", 128<<10))
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.StatusCode)
}
