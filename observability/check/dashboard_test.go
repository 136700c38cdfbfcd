package check_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/1000x-rps-server/rps-server/observability/check"
)

// TestDashboards holds every dashboard to Grafana's schema: unknown fields
// fail the strict unmarshal, missing or invalid ones fail Validate.
func TestDashboards(t *testing.T) {
	plugins.RegisterDefaultPlugins() // typed panel options and Prometheus queries
	files, err := check.Dashboards()
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			require.NoError(t, err)
			// The classic model is what file provisioning reads (v2 is another schema).
			var d dashboard.Dashboard //nolint:staticcheck // see above
			requireNoBuildErrors(t, "strict unmarshal", d.UnmarshalJSONStrict(raw))
			requireNoBuildErrors(t, "validate", d.Validate())
			require.NotNil(t, d.Uid, "provisioned dashboards need a stable uid")
			assert.NotEmpty(t, *d.Uid, "provisioned dashboards need a stable uid")
		})
	}
}

// requireNoBuildErrors fails on err unless it is the SDK's empty error
// list, which is how its strict unmarshal and Validate report success.
func requireNoBuildErrors(t *testing.T, what string, err error) {
	t.Helper()
	var list cog.BuildErrors
	if errors.As(err, &list) {
		require.Empty(t, list, "%s: %v", what, err)
		return
	}
	require.NoError(t, err, what)
}

// TestDashboardPanels checks the panels an operator looks for first are
// there, and that every query parses as PromQL and names a metric.
func TestDashboardPanels(t *testing.T) {
	files, err := check.Dashboards()
	require.NoError(t, err)
	titles := map[string]bool{}
	for _, f := range files {
		queries, err := check.DashboardQueries(f)
		require.NoError(t, err)
		for _, q := range queries {
			titles[q.Panel] = true
			names, err := check.MetricNames(q.Expr)
			require.NoError(t, err, "panel %q: %s", q.Panel, q.Expr)
			assert.NotEmpty(t, names, "panel %q: %s", q.Panel, q.Expr)
		}
	}
	for _, want := range []string{
		"Request rate by route", "Status codes", "Latency by route (p50, p99)", "Requests in flight",
		"Error ratio (5xx) by route", "Slots in use vs capacity", "Acquires by outcome",
		"Round trip (p50, p99)", "Queue wait (p50, p99)", "Pending replies", "Consumer lag by partition",
		"Tasks by outcome", "Issuance ledger", "CPU", "Memory",
	} {
		assert.True(t, titles[want], "panel %q is missing", want)
	}
}

// TestProvisioning checks the datasource uid the dashboards refer to is the
// one provisioned, and that the dashboards provider points somewhere.
func TestProvisioning(t *testing.T) {
	var ds struct {
		Datasources []struct {
			UID  string `yaml:"uid"`
			Type string `yaml:"type"`
			URL  string `yaml:"url"`
		} `yaml:"datasources"`
	}
	raw, err := os.ReadFile(filepath.Join(check.ProvisioningDir, "datasources", "prometheus.yml"))
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(raw, &ds))
	require.Len(t, ds.Datasources, 1)
	assert.Equal(t, "prometheus", ds.Datasources[0].UID)
	assert.Equal(t, "prometheus", ds.Datasources[0].Type)

	var prov struct {
		Providers []struct {
			Folder  string `yaml:"folder"`
			Type    string `yaml:"type"`
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	raw, err = os.ReadFile(filepath.Join(check.ProvisioningDir, "dashboards", "dashboards.yml"))
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(raw, &prov))
	require.Len(t, prov.Providers, 1)
	assert.Equal(t, "file", prov.Providers[0].Type)
	assert.NotEmpty(t, prov.Providers[0].Options.Path)

	files, err := check.Dashboards()
	require.NoError(t, err)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		assert.NotContains(t, string(raw), `"uid": "${`, "%s: a datasource variable would not resolve under provisioning", f)
		assert.Contains(t, string(raw), `"uid": "prometheus"`, f)
	}
}
