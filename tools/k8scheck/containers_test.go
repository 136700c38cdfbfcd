package k8scheck_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"

	"github.com/1000x-rps-server/rps-server/tools/k8scheck"
)

// writableRoot are the containers allowed a writable root file system, and
// why; an exception that is no longer used fails too.
var writableRoot = map[string]string{
	"dev/StatefulSet/kafka/kafka": "apache/kafka's start script writes the broker's properties under /etc/kafka and /opt/kafka/config, beside its own scripts",
}

// Every container of every overlay, ours or not, passes what a platform
// team's admission policy asks: the restricted Pod Security Standard and a
// read-only root file system, the three probes, requests and limits, a
// pinned image; its pod mounts no API token and takes no service links.
func TestContainers_MeetThePlatformPolicy(t *testing.T) {
	used := map[string]bool{}
	forEachOverlay(t, func(t *testing.T, o k8scheck.Objects) {
		for _, w := range o.Workloads() {
			pod := w.Template.Spec
			where := o.Overlay + "/" + w.Kind + "/" + w.Name
			assert.Equal(t, ptr(false), pod.EnableServiceLinks, "%s: enableServiceLinks: false (no RPS_SERVER_PORT=tcp://… and the like)", where)
			assert.Equal(t, ptr(false), pod.AutomountServiceAccountToken, "%s: no service account token mounted", where)
			assert.False(t, pod.HostNetwork || pod.HostPID || pod.HostIPC, "%s: no host namespaces", where)
			for _, v := range pod.Volumes {
				assert.Nil(t, v.HostPath, "%s: no hostPath volume (%s)", where, v.Name)
			}
			assert.Empty(t, pod.InitContainers, "%s: init containers are not checked here; check them before adding one", where)
			for _, c := range pod.Containers {
				name := where + "/" + c.Name
				checkProbes(t, name, c)
				checkResources(t, name, c.Resources)
				_, writable := writableRoot[name]
				used[name] = used[name] || writable
				checkSecurity(t, name, pod.SecurityContext, c.SecurityContext, writable)
				img := k8scheck.ParseImage(c.Image)
				assert.True(t, img.Pinned(), "%s: image %q names no build (no tag, or latest)", name, c.Image)
				for _, p := range c.Ports {
					assert.Zero(t, p.HostPort, "%s: no host port", name)
				}
			}
		}
	})
	for name := range writableRoot {
		assert.True(t, used[name], "writable-root exception %s is not used: remove it", name)
	}
}

func checkProbes(t *testing.T, name string, c corev1.Container) {
	t.Helper()
	for kind, p := range map[string]*corev1.Probe{"startup": c.StartupProbe, "liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		if !assert.NotNil(t, p, "%s: no %s probe", name, kind) {
			continue
		}
		h := p.ProbeHandler
		n := 0
		for _, set := range []bool{h.HTTPGet != nil, h.TCPSocket != nil, h.Exec != nil, h.GRPC != nil} {
			if set {
				n++
			}
		}
		assert.Equal(t, 1, n, "%s: the %s probe has one handler", name, kind)
	}
}

func checkResources(t *testing.T, name string, r corev1.ResourceRequirements) {
	t.Helper()
	for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, hasReq := r.Requests[res]
		lim, hasLim := r.Limits[res]
		assert.True(t, hasReq, "%s: no %s request", name, res)
		assert.True(t, hasLim, "%s: no %s limit", name, res)
		if hasReq && hasLim {
			assert.LessOrEqual(t, req.Cmp(lim), 0, "%s: %s request %s over its limit %s", name, res, req.String(), lim.String())
		}
	}
	// The memory a pod is scheduled for is the memory it may use: no
	// overcommit for the OOM killer to settle.
	assert.True(t, r.Requests.Memory().Equal(*r.Limits.Memory()), "%s: memory request %s differs from the limit %s", name, r.Requests.Memory(), r.Limits.Memory())
}

// checkSecurity checks the container's effective security context (its own
// field, else the pod's) against the restricted profile.
func checkSecurity(t *testing.T, name string, pod *corev1.PodSecurityContext, c *corev1.SecurityContext, writableRoot bool) {
	t.Helper()
	if pod == nil {
		pod = &corev1.PodSecurityContext{}
	}
	if c == nil {
		c = &corev1.SecurityContext{}
	}
	nonRoot := c.RunAsNonRoot
	if nonRoot == nil {
		nonRoot = pod.RunAsNonRoot
	}
	user := c.RunAsUser
	if user == nil {
		user = pod.RunAsUser
	}
	seccomp := c.SeccompProfile
	if seccomp == nil {
		seccomp = pod.SeccompProfile
	}
	assert.Equal(t, ptr(true), nonRoot, "%s: runAsNonRoot", name)
	// A numeric user, so the kubelet can tell it is not root whatever the image says.
	if assert.NotNil(t, user, "%s: runAsUser (numeric)", name) {
		assert.NotZero(t, *user, "%s: runAsUser 0 is root", name)
	}
	assert.Equal(t, ptr(false), c.AllowPrivilegeEscalation, "%s: allowPrivilegeEscalation: false", name)
	assert.Nil(t, c.Privileged, "%s: privileged is not set", name)
	assert.Equal(t, ptr(!writableRoot), c.ReadOnlyRootFilesystem, "%s: readOnlyRootFilesystem", name)
	if assert.NotNil(t, c.Capabilities, "%s: capabilities", name) {
		assert.Equal(t, []corev1.Capability{"ALL"}, c.Capabilities.Drop, "%s: drops ALL capabilities", name)
		assert.Empty(t, c.Capabilities.Add, "%s: adds no capability", name)
	}
	if assert.NotNil(t, seccomp, "%s: seccomp profile", name) {
		assert.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, seccomp.Type, "%s: seccomp RuntimeDefault", name)
	}
}

// Servers and workers are spread over nodes and zones, each constraint
// counting the pods of its own workload.
func TestWorkloads_SpreadOverNodesAndZones(t *testing.T) {
	forEachOverlay(t, func(t *testing.T, o k8scheck.Objects) {
		for _, name := range []string{"rps-server", "rps-worker"} {
			d := o.Deployment(name)
			if !assert.NotNil(t, d, "no Deployment %s", name) {
				continue
			}
			var keys []string
			for _, c := range d.Spec.Template.Spec.TopologySpreadConstraints {
				keys = append(keys, c.TopologyKey)
				if assert.NotNil(t, c.LabelSelector, "%s: %s spread has a selector", name, c.TopologyKey) {
					assert.True(t, selects(c.LabelSelector.MatchLabels, d.Spec.Template.Labels), "%s: the %s spread counts other pods than its own", name, c.TopologyKey)
				}
			}
			assert.ElementsMatch(t, []string{"kubernetes.io/hostname", "topology.kubernetes.io/zone"}, keys, "%s spreads over nodes and zones", name)
		}
	})
}

// selects reports whether a non-empty matchLabels selects labels.
func selects(matchLabels, labels map[string]string) bool {
	if len(matchLabels) == 0 {
		return false
	}
	for k, v := range matchLabels {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func ptr[T any](v T) *T { return &v }
