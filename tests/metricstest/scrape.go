package metricstest

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
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

// Endpoint is the Gatherer of the /metrics page at base (http://host:port),
// so Value reads a server in another process as strictly as a registry: a
// series the page does not show fails the test. Each Gather is one scrape.
func Endpoint(base string) prometheus.Gatherer {
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		body, err := get(base + "/metrics")
		if err != nil {
			return nil, fmt.Errorf("scrape %s: %w", base, err)
		}
		parser := expfmt.NewTextParser(model.UTF8Validation)
		byName, err := parser.TextToMetricFamilies(strings.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("parse %s/metrics: %w", base, err)
		}
		return slices.Collect(maps.Values(byName)), nil
	})
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
