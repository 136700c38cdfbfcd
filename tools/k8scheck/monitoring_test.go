package k8scheck_test

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/1000x-rps-server/rps-server/tools/k8scheck"
)

// The PrometheusRule is the rule files of observability/prometheus: the
// file is what the generator writes from them today, and the object an
// overlay renders carries the very groups the files hold.
func TestPrometheusRule_IsTheRuleFiles(t *testing.T) {
	groups, err := k8scheck.RuleGroups(root)
	require.NoError(t, err)
	require.NotEmpty(t, groups)
	want, err := k8scheck.PrometheusRule(groups)
	require.NoError(t, err)
	got, err := os.ReadFile(filepath.Join(root, k8scheck.PrometheusRuleFile))
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got), "%s is stale: run go tool task k8s:rules", k8scheck.PrometheusRuleFile)

	rendered := 0
	forEachOverlay(t, func(t *testing.T, o k8scheck.Objects) {
		for _, r := range o.PrometheusRules {
			rendered++
			assert.Equal(t, groups, r.Spec.Groups, "PrometheusRule %s differs from the rule files", r.Name)
		}
	})
	assert.NotZero(t, rendered, "no overlay ships the PrometheusRule")
}

// jobsInRules are the job label values the rules and alerts name
// (absent(rps_ready{job="server"})): the monitors must produce them.
func jobsInRules(t *testing.T) []string {
	t.Helper()
	groups, err := k8scheck.RuleGroups(root)
	require.NoError(t, err)
	seen := map[string]bool{}
	re := regexp.MustCompile(`job="([^"]+)"`)
	for _, g := range groups {
		for _, r := range g.Rules {
			for _, m := range re.FindAllStringSubmatch(r.Expr.String(), -1) {
				seen[m[1]] = true
			}
		}
	}
	var jobs []string
	for j := range seen {
		jobs = append(jobs, j)
	}
	slices.Sort(jobs)
	return jobs
}

// The ServiceMonitor and the PodMonitor scrape a route the binary serves,
// on the port it serves it on, under the job names the rules and the
// dashboard aggregate by.
func TestMonitors_ScrapeTheMetricsUnderTheRulesJobNames(t *testing.T) {
	jobs := jobsInRules(t)
	require.NotEmpty(t, jobs, "the rules name no job")
	forEachOverlay(t, func(t *testing.T, o k8scheck.Objects) {
		if len(o.ServiceMonitors)+len(o.PodMonitors) == 0 {
			return
		}
		byBinary := map[string]ours{}
		for _, c := range oursIn(t, o) {
			byBinary[c.binary] = c
		}
		var got []string
		for _, m := range o.ServiceMonitors {
			for _, s := range o.Services {
				if !selects(m.Spec.Selector.MatchLabels, s.Labels) {
					continue
				}
				job := s.Labels[m.Spec.JobLabel]
				got = append(got, job)
				c, ok := byBinary[job]
				if !assert.True(t, ok, "ServiceMonitor %s: job %q is no binary of ours", m.Name, job) {
					continue
				}
				for _, e := range m.Spec.Endpoints {
					var target intstr.IntOrString
					for _, p := range s.Spec.Ports {
						if p.Name == e.Port {
							target = p.TargetPort
						}
					}
					assertScrapes(t, "ServiceMonitor "+m.Name, c, target, e.Path)
				}
			}
		}
		for _, m := range o.PodMonitors {
			for _, w := range o.Workloads() {
				if !selects(m.Spec.Selector.MatchLabels, w.Template.Labels) {
					continue
				}
				job := w.Template.Labels[m.Spec.JobLabel]
				got = append(got, job)
				c, ok := byBinary[job]
				if !assert.True(t, ok, "PodMonitor %s: job %q is no binary of ours", m.Name, job) {
					continue
				}
				for _, e := range m.Spec.PodMetricsEndpoints {
					assertScrapes(t, "PodMonitor "+m.Name, c, intstr.FromString(*e.Port), e.Path)
				}
			}
		}
		slices.Sort(got)
		assert.Equal(t, jobs, got, "one scraped job per job name the rules use")
	})
}

// assertScrapes checks that the container c serves path on port.
func assertScrapes(t *testing.T, who string, c ours, port intstr.IntOrString, path string) {
	t.Helper()
	n, ok := containerPort(c.container, port)
	if !assert.True(t, ok, "%s: port %s is no port of %s", who, port.String(), c.where) {
		return
	}
	l, ok := c.listeners(t)[n]
	if assert.True(t, ok, "%s: %s does not listen on %d", who, c.where, n) {
		assert.Contains(t, l.routes, path, "%s: %s serves no %s on port %d", who, c.where, path, n)
	}
}

// The servers' public port serves the API only: /metrics is on their admin
// listener (http.admin_addr), whose port no policy opens beyond the
// cluster, while the API's port is open to the ingress.
func TestServers_KeepMetricsOffThePublicPort(t *testing.T) {
	forEachOverlay(t, func(t *testing.T, o k8scheck.Objects) {
		servers := 0
		for _, c := range oursIn(t, o) {
			if c.binary != "server" {
				continue
			}
			servers++
			if !assert.NotEmpty(t, c.cfg.HTTP.AdminAddr, "%s: no RPS_HTTP__ADMIN_ADDR: /metrics is served on the public port", c.where) {
				continue
			}
			listeners := c.listeners(t)
			public, ok := listeners[int32(c.cfg.HTTP.Port)]
			if assert.True(t, ok, c.where) {
				assert.NotContains(t, public.routes, "/metrics", "%s: /metrics on the public port %d", c.where, c.cfg.HTTP.Port)
			}
			_, adminPort, err := net.SplitHostPort(c.cfg.HTTP.AdminAddr)
			require.NoError(t, err)
			for _, p := range o.NetworkPolicies {
				if !selects(p.Spec.PodSelector.MatchLabels, templateLabels(o)["rps-server"]) {
					continue
				}
				for _, rule := range p.Spec.Ingress {
					for _, rp := range rule.Ports {
						n, ok := resolve(o, "rps-server", *rp.Port)
						if ok && strconv.Itoa(int(n)) == adminPort {
							assert.NotEmpty(t, rule.From, "NetworkPolicy %s lets anyone reach the servers' admin port", p.Name)
						}
					}
				}
			}
		}
		assert.Equal(t, 1, servers, "one server container per overlay")
	})
}
