package k8scheck_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/1000x-rps-server/rps-server/tools/k8scheck"
)

// Each overlay renders, every object decodes strictly into its type, and
// each ships what it says it does.
func TestOverlays_RenderWhatTheyPromise(t *testing.T) {
	counts := func(o k8scheck.Objects) map[string]int {
		return map[string]int{
			"Namespace": len(o.Namespaces), "ServiceAccount": len(o.ServiceAccounts), "Service": len(o.Services),
			"Deployment": len(o.Deployments), "StatefulSet": len(o.StatefulSets), "PodDisruptionBudget": len(o.PDBs),
			"HorizontalPodAutoscaler": len(o.HPAs), "NetworkPolicy": len(o.NetworkPolicies),
			"ServiceMonitor": len(o.ServiceMonitors), "PodMonitor": len(o.PodMonitors),
			"PrometheusRule": len(o.PrometheusRules), "ScaledObject": len(o.ScaledObjects),
		}
	}
	base := map[string]int{
		"Namespace": 1, "ServiceAccount": 1, "Service": 1, "Deployment": 2, "PodDisruptionBudget": 2,
		"HorizontalPodAutoscaler": 1, "NetworkPolicy": 3,
	}
	with := func(extra map[string]int) map[string]int {
		m := map[string]int{"StatefulSet": 0, "ServiceMonitor": 0, "PodMonitor": 0, "PrometheusRule": 0, "ScaledObject": 0}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	monitoring := map[string]int{"ServiceMonitor": 1, "PodMonitor": 1, "PrometheusRule": 1}
	want := map[string]map[string]int{
		// Redis and Kafka in the cluster; no HPA, no monitoring CRDs.
		"dev":        with(map[string]int{"Service": 3, "StatefulSet": 2, "NetworkPolicy": 5, "HorizontalPodAutoscaler": 0}),
		"production": with(monitoring),
		"production-keda": with(map[string]int{
			"ServiceMonitor": 1, "PodMonitor": 1, "PrometheusRule": 1, "ScaledObject": 1,
		}),
	}
	got := map[string]bool{}
	forEachOverlay(t, func(t *testing.T, o k8scheck.Objects) {
		got[o.Overlay] = true
		w, ok := want[o.Overlay]
		if !ok {
			t.Fatalf("overlay %s is not described here: add what it ships", o.Overlay)
		}
		assert.Equal(t, w, counts(o))
		for _, ns := range o.Namespaces {
			assert.Equal(t, "restricted", ns.Labels["pod-security.kubernetes.io/enforce"], "namespace %s enforces the restricted Pod Security Standard", ns.Name)
		}
	})
	for name := range want {
		assert.True(t, got[name], "overlay %s is gone", name)
	}
}
