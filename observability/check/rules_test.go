package check_test

import (
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/observability/check"
	"github.com/1000x-rps-server/rps-server/tests/infra"
)

func promtool(t *testing.T) string {
	t.Helper()
	return infra.Tool(t, "PROMTOOL_BIN", "promtool", "bash deployments/scripts/prometheus.sh install")
}

// runPromtool runs promtool with args and fails the test with its output
// when it exits non-zero (3 for lint findings).
func runPromtool(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command(promtool(t), args...).CombinedOutput()
	require.NoError(t, err, "promtool %v:\n%s", args, out)
}

// TestPromtool is what an operator runs before deploying the files.
func TestPromtool(t *testing.T) {
	rules, err := check.RuleFiles()
	require.NoError(t, err)
	runPromtool(t, "check", "config", check.ScrapeConfig, check.LocalScrapeConfig)
	runPromtool(t, append([]string{"check", "rules"}, rules...)...)
	runPromtool(t, "test", "rules", check.AlertTests)
}

// TestRulesParse parses every rule's PromQL and checks the alerts
// docs/operations.md documents are all there.
func TestRulesParse(t *testing.T) {
	rules, err := check.Rules()
	require.NoError(t, err)
	alerts := map[string]bool{}
	for _, r := range rules {
		names, err := check.MetricNames(r.Expr)
		require.NoError(t, err, "rule %s: %s", r.Name(), r.Expr)
		assert.NotEmpty(t, names, r.Name())
		if r.Alert != "" {
			alerts[r.Alert] = true
		}
	}
	for _, a := range []string{"RpsHighErrorRatio", "RpsLatencyP99OverTarget", "RpsGateSaturated", "RpsConsumerLagGrowing", "RpsNoReadyInstance", "RpsDependencyDown", "RpsClientMostlyRefused"} {
		assert.True(t, alerts[a], "alert %s is missing", a)
	}
}
