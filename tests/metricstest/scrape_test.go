package metricstest_test

import (
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/tests/infra"
	"github.com/1000x-rps-server/rps-server/tests/metricstest"
)

// A registry served over HTTP reads the same through Endpoint as directly,
// and only the series it shows are there.
func TestEndpoint_ReadsAsTheRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	replies := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "replies_total", Help: "h"}, []string{"outcome"})
	depth := prometheus.NewGauge(prometheus.GaugeOpts{Name: "depth", Help: "h"})
	reg.MustRegister(replies, depth)
	replies.WithLabelValues("taken").Add(3)
	replies.WithLabelValues("ignored")
	depth.Set(7)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	t.Cleanup(srv.Close)

	remote := metricstest.Endpoint(srv.URL)
	for name, g := range map[string]prometheus.Gatherer{"registry": reg, "endpoint": remote} {
		assert.Equal(t, 3.0, metricstest.Value(t, g, "replies_total", "taken"), name)
		assert.Zero(t, metricstest.Value(t, g, "replies_total", "ignored"), name)
		assert.Equal(t, 7.0, metricstest.Value(t, g, "depth", ""), name)
	}
	families, err := remote.Gather()
	require.NoError(t, err)
	assert.Len(t, families, 2, "nothing the page does not show")
}

func TestEndpoint_UnreachableIsAnError(t *testing.T) {
	_, err := metricstest.Endpoint("http://" + infra.FreeAddr(t)).Gather()
	require.Error(t, err)
}
