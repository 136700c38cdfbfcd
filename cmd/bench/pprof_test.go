package main

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestServePProfServesTheProfilerAndStops(t *testing.T) {
	ctx := context.Background()
	addr, stop, err := servePProf(ctx, "127.0.0.1:0")
	require.NoError(t, err)

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/debug/pprof/goroutine?debug=1", http.NoBody)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, string(body), "goroutine profile:")

	stop()
	req, err = http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/debug/pprof/", http.NoBody)
	require.NoError(t, err)
	resp, err = http.DefaultClient.Do(req)
	if err == nil {
		_ = resp.Body.Close()
	}
	require.Error(t, err, "the profiler still answers after stop")
}

func TestServePProfRefusesABadAddress(t *testing.T) {
	_, _, err := servePProf(context.Background(), "127.0.0.1:notaport")
	require.Error(t, err)
}
