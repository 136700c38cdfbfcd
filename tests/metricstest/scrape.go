package metricstest

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Scrape reads one sample from base's /metrics in the text format, 0 when
// the series is absent. series is the full name with labels, as exposed.
func Scrape(t testing.TB, base, series string) float64 {
	t.Helper()
	body, err := get(base + "/metrics")
	require.NoError(t, err)
	v, err := sample(body, series)
	require.NoError(t, err)
	return v
}

// ScrapeQuiet is Scrape without a testing.TB, for polling goroutines: any
// failure reads as 0.
func ScrapeQuiet(base, series string) float64 {
	body, err := get(base + "/metrics")
	if err != nil {
		return 0
	}
	v, _ := sample(body, series)
	return v
}

func get(url string) (string, error) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return string(body), err
}

// sample finds series in an exposition, 0 when absent.
func sample(exposition, series string) (float64, error) {
	for line := range strings.Lines(exposition) {
		name, value, ok := strings.Cut(strings.TrimSuffix(line, "\n"), " ")
		if ok && name == series {
			return strconv.ParseFloat(value, 64)
		}
	}
	return 0, nil
}
