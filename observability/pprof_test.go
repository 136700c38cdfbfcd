package observability

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

func TestServePProfServesTheProfilerAndStops(t *testing.T) {
	ctx := context.Background()
	addr, stop, err := ServePProf(ctx, "127.0.0.1:0", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}

	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/debug/pprof/goroutine?debug=1", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "goroutine profile:") {
		t.Fatalf("GET goroutine profile: %d %.200s", resp.StatusCode, body)
	}

	stop()
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/debug/pprof/", nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		_ = resp.Body.Close()
		t.Fatal("profiler still answers after stop")
	}
}

func TestServePProfRefusesABadAddress(t *testing.T) {
	if _, _, err := ServePProf(context.Background(), "127.0.0.1:notaport", slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("want an error for a bad address")
	}
}
