package observability_test

import (
	"context"
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/observability"
)

func fails(err error) observability.ReadyCheck {
	return func(context.Context) error { return err }
}

// A shared dependency that is down leaves the instance ready and is named
// in the body; the instance's own failure makes it unready, with the
// caller's reason and never the error's text.
func TestReadiness_SplitsTheInstanceFromItsDependencies(t *testing.T) {
	down := errors.New("dial tcp 10.0.0.7:6379: connection refused")
	tests := []struct {
		name  string
		r     observability.Readiness
		ready bool
		body  string
	}{
		{name: "nothing_to_check", ready: true, body: `{"status":"ready"}`},
		{name: "all_up", r: observability.Readiness{Own: fails(nil), Dependencies: []observability.Dependency{
			{Name: "redis", Check: fails(nil)}, {Name: "kafka", Check: fails(nil)},
		}}, ready: true, body: `{"status":"ready","dependencies":{"kafka":"up","redis":"up"}}`},
		{name: "shared_outage", r: observability.Readiness{Own: fails(nil), Dependencies: []observability.Dependency{
			{Name: "redis", Check: fails(down)}, {Name: "kafka", Check: fails(nil)},
		}}, ready: true, body: `{"status":"ready","dependencies":{"kafka":"up","redis":"down"}}`},
		{name: "starting", r: observability.Readiness{Own: fails(down), Dependencies: []observability.Dependency{
			{Name: "redis", Check: fails(nil)},
		}}, body: `{"status":"not ready","reason":"starting","dependencies":{"redis":"up"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := tt.r.Check(context.Background())
			assert.Equal(t, tt.ready, rep.Err == nil)
			assert.JSONEq(t, tt.body, string(rep.Body("starting")))
		})
	}
}

// rps_ready has one series for the instance and one per dependency, each
// from the same check at scrape time.
func TestRegisterReadiness_ExportsTheInstanceAndEachDependency(t *testing.T) {
	reg := prometheus.NewRegistry()
	var redis error
	r := observability.Readiness{Dependencies: []observability.Dependency{
		{Name: "redis", Check: func(context.Context) error { return redis }},
		{Name: "workers", Check: fails(nil)},
	}}
	require.NoError(t, observability.RegisterReadiness(reg, r.Check))
	assert.Equal(t, map[string]float64{"self": 1, "redis": 1, "workers": 1}, readySeries(t, reg))
	redis = errors.New("down")
	assert.Equal(t, map[string]float64{"self": 1, "redis": 0, "workers": 1}, readySeries(t, reg),
		"Redis down leaves the instance ready")

	bad := observability.Readiness{Own: fails(errors.New("starting"))}
	reg = prometheus.NewRegistry()
	require.NoError(t, observability.RegisterReadiness(reg, bad.Check))
	assert.Equal(t, map[string]float64{"self": 0}, readySeries(t, reg), "not ready, nothing shared to report")
	assert.Error(t, observability.RegisterReadiness(reg, bad.Check), "registered twice")
}

// readySeries gathers rps_ready from reg: its value by dependency label.
func readySeries(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "rps_ready" {
			continue
		}
		assert.Equal(t, dto.MetricType_GAUGE, f.GetType())
		for _, m := range f.GetMetric() {
			require.Len(t, m.GetLabel(), 1)
			assert.Equal(t, "dependency", m.GetLabel()[0].GetName())
			out[m.GetLabel()[0].GetValue()] = m.GetGauge().GetValue()
		}
	}
	return out
}
