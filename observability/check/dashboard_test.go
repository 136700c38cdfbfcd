package check_test

import (
	"encoding/json"
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
// there, and that every query parses as PromQL (the dashboard's variables
// replaced), names a metric and keeps to the jobs $job selects.
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
			require.NoError(t, err, "panel %q: %s", q.Panel, q.Raw)
			assert.NotEmpty(t, names, "panel %q: %s", q.Panel, q.Raw)
			without, err := check.SelectorsWithout(q.Expr, "job", check.StandIn("job"))
			require.NoError(t, err)
			assert.Empty(t, without, `panel %q: selectors without job=~"$job" in %s`, q.Panel, q.Raw)
		}
	}
	for _, want := range []string{
		"Request rate by route", "Status codes", "Latency by route (p50, p99)", "Requests in flight",
		"Error ratio (5xx) by route", "Slots in use vs capacity", "Acquires by outcome",
		"Round trip (p50, p99)", "Queue wait (p50, p99)", "Pending replies", "Consumer lag by partition",
		"Reply topics", "Tasks by outcome", "Poison tasks and dead letters", "Undeliverable replies",
		"Issuance ledger", "CPU", "Memory", "Refusals by limit and class", "Most-refused clients (last minute)",
	} {
		assert.True(t, titles[want], "panel %q is missing", want)
	}
}

// TestDashboardVariables checks every dashboard fits any Prometheus: a
// $datasource variable of Prometheus data sources, which every panel,
// target and query variable reads from (no fixed uid anywhere), and a $job
// variable, read from it, choosing the jobs.
func TestDashboardVariables(t *testing.T) {
	files, err := check.Dashboards()
	require.NoError(t, err)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			d, err := check.ReadDashboard(f)
			require.NoError(t, err)
			vars := map[string]check.Variable{}
			for _, v := range d.Variables {
				vars[v.Name] = v
			}
			require.Contains(t, vars, "datasource")
			assert.Equal(t, "datasource", vars["datasource"].Type)
			assert.Equal(t, "prometheus", vars["datasource"].Query, "only Prometheus data sources")
			require.Contains(t, vars, "job")
			assert.Equal(t, "query", vars["job"].Type)
			assert.Equal(t, "${datasource}", vars["job"].Datasource)

			// Every reference to a data source, wherever it is in the JSON.
			raw, err := os.ReadFile(f)
			require.NoError(t, err)
			var doc any
			require.NoError(t, json.Unmarshal(raw, &doc))
			refs := datasourceRefs(doc)
			assert.NotEmpty(t, refs)
			for _, ref := range refs {
				assert.Equal(t, map[string]any{"type": "prometheus", "uid": "${datasource}"}, ref, "a data source other than the variable")
			}
			for _, p := range d.Panels {
				if len(p.Queries) > 0 {
					assert.Equal(t, "${datasource}", p.Datasource, "panel %q", p.Title)
				}
			}
		})
	}
}

// datasourceRefs collects the value of every "datasource" key in a decoded
// JSON document.
func datasourceRefs(v any) []any {
	var out []any
	switch v := v.(type) {
	case map[string]any:
		for k, inner := range v {
			if k == "datasource" {
				out = append(out, inner)
				continue
			}
			out = append(out, datasourceRefs(inner)...)
		}
	case []any:
		for _, inner := range v {
			out = append(out, datasourceRefs(inner)...)
		}
	}
	return out
}

// TestProvisioning checks the dashboards' data source variable defaults to
// the provisioned data source, and that the dashboards provider points
// somewhere.
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

	// Provisioned, a dashboard opens on the provisioned data source: its
	// $datasource variable's default (panels name only the variable).
	files, err := check.Dashboards()
	require.NoError(t, err)
	for _, f := range files {
		d, err := check.ReadDashboard(f)
		require.NoError(t, err)
		for _, v := range d.Variables {
			if v.Type == "datasource" {
				assert.Equal(t, ds.Datasources[0].UID, v.Current, "%s: $%s defaults to the provisioned data source", f, v.Name)
			}
		}
	}
}
