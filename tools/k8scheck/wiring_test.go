package k8scheck_test

import (
	"net"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/1000x-rps-server/rps-server/tools/k8scheck"
)

// templateLabels are the pod labels of every workload, by workload name.
func templateLabels(o k8scheck.Objects) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, w := range o.Workloads() {
		out[w.Name] = w.Template.Labels
	}
	return out
}

// selected names the workloads whose pods matchLabels selects.
func selected(o k8scheck.Objects, matchLabels map[string]string) []string {
	var out []string
	for _, w := range o.Workloads() {
		if selects(matchLabels, w.Template.Labels) {
			out = append(out, w.Name)
		}
	}
	return out
}

// Each Service selects exactly one workload and sends each port to a
// port its containers declare; each PodDisruptionBudget covers exactly one
// workload.
func TestServicesAndBudgets_SelectTheirWorkload(t *testing.T) {
	forEachOverlay(t, func(t *testing.T, o k8scheck.Objects) {
		for _, s := range o.Services {
			sel := selected(o, s.Spec.Selector)
			if !assert.Len(t, sel, 1, "Service %s selects %v", s.Name, sel) {
				continue
			}
			for _, p := range s.Spec.Ports {
				assert.True(t, workloadHasPort(o, sel[0], p.TargetPort), "Service %s: port %s goes to %s, which %s does not declare", s.Name, p.Name, p.TargetPort.String(), sel[0])
			}
		}
		covered := map[string]bool{}
		for _, b := range o.PDBs {
			sel := selected(o, b.Spec.Selector.MatchLabels)
			if assert.Len(t, sel, 1, "PodDisruptionBudget %s selects %v", b.Name, sel) {
				covered[sel[0]] = true
			}
		}
		for _, name := range []string{"rps-server", "rps-worker"} {
			assert.True(t, covered[name], "no PodDisruptionBudget for %s", name)
		}
	})
}

// workloadHasPort reports whether a container of the workload declares port
// (a name or a number).
func workloadHasPort(o k8scheck.Objects, workload string, port intstr.IntOrString) bool {
	for _, w := range o.Workloads() {
		if w.Name != workload {
			continue
		}
		for _, c := range w.Template.Spec.Containers {
			if _, ok := containerPort(c, port); ok {
				return true
			}
		}
	}
	return false
}

// An autoscaler (the HPA, or KEDA's) owns its Deployment's replica count:
// the Deployment leaves replicas out, or every apply would reset it, and
// only one autoscaler scales each Deployment. The HPA's CPU target needs
// CPU requests.
func TestAutoscalers_OwnTheirReplicas(t *testing.T) {
	forEachOverlay(t, func(t *testing.T, o k8scheck.Objects) {
		scaled := map[string]int{}
		for _, h := range o.HPAs {
			scaled[h.Spec.ScaleTargetRef.Name]++
			d := o.Deployment(h.Spec.ScaleTargetRef.Name)
			if !assert.NotNil(t, d, "HPA %s scales no Deployment of the overlay", h.Name) {
				continue
			}
			assert.Nil(t, d.Spec.Replicas, "Deployment %s sets replicas, which HPA %s owns", d.Name, h.Name)
			assert.GreaterOrEqual(t, *h.Spec.MinReplicas, int32(2), "HPA %s: at least two, so a PodDisruptionBudget lets a node drain", h.Name)
			for _, c := range d.Spec.Template.Spec.Containers {
				assert.False(t, c.Resources.Requests.Cpu().IsZero(), "%s/%s: the HPA's CPU target needs a CPU request", d.Name, c.Name)
			}
		}
		for _, s := range o.ScaledObjects {
			scaled[s.Spec.ScaleTargetRef.Name]++
			d := o.Deployment(s.Spec.ScaleTargetRef.Name)
			if assert.NotNil(t, d, "ScaledObject %s scales no Deployment of the overlay", s.Name) {
				assert.Nil(t, d.Spec.Replicas, "Deployment %s sets replicas, which ScaledObject %s owns", d.Name, s.Name)
			}
		}
		for name, n := range scaled {
			assert.Equal(t, 1, n, "%s has %d autoscalers", name, n)
		}
	})
}

// KEDA scales the workers on the lag of the group they consume with, on
// the topic they consume, through the brokers they are given, and never
// past the tasks topic's partitions (a worker beyond them holds none).
func TestScaledObject_FollowsTheWorkersConfig(t *testing.T) {
	forEachOverlay(t, func(t *testing.T, o k8scheck.Objects) {
		var worker *ours
		for _, c := range oursIn(t, o) {
			if c.binary == "worker" {
				worker = &c
			}
		}
		for _, s := range o.ScaledObjects {
			if !assert.NotNil(t, worker, "ScaledObject %s, but no worker", s.Name) || !assert.Len(t, s.Spec.Triggers, 1, s.Name) {
				continue
			}
			assert.Equal(t, "rps-worker", s.Spec.ScaleTargetRef.Name)
			tr := s.Spec.Triggers[0]
			assert.Equal(t, "kafka", tr.Type)
			md := tr.Metadata
			assert.Equal(t, worker.cfg.Worker.Group, md["consumerGroup"], "the workers' group (worker.group)")
			assert.Equal(t, worker.cfg.Kafka.TasksTopic, md["topic"], "the tasks topic (kafka.tasks_topic)")
			assert.Equal(t, "earliest", md["offsetResetPolicy"], "the workers start a new group at the earliest offset")
			if assert.NotNil(t, s.Spec.MaxReplicaCount, s.Name) {
				assert.LessOrEqual(t, int(*s.Spec.MaxReplicaCount), worker.cfg.Kafka.TasksPartitions, "more workers than kafka.tasks_partitions idle")
			}
			env := md["bootstrapServersFromEnv"]
			assert.Contains(t, []string{"KAFKA_BOOTSTRAP_SERVERS", "RPS_KAFKA__BOOTSTRAP"}, env, "the brokers come from the worker's own variable")
			assert.True(t, hasEnv(worker.container, env), "the worker container sets no %s for KEDA to read", env)
			_, err := strconv.Atoi(md["lagThreshold"])
			assert.NoError(t, err, "lagThreshold is a number")
		}
	})
}

func hasEnv(c corev1.Container, name string) bool {
	for _, e := range c.Env {
		if e.Name == name {
			return true
		}
	}
	return false
}

// A NetworkPolicy denies all ingress by default, and another lets in each
// port something must reach: every Service's target port and every port a
// monitor scrapes.
func TestNetworkPolicies_LetInWhatIsServedOnly(t *testing.T) {
	forEachOverlay(t, func(t *testing.T, o k8scheck.Objects) {
		denyAll := false
		for _, p := range o.NetworkPolicies {
			if len(p.Spec.PodSelector.MatchLabels) == 0 && len(p.Spec.PodSelector.MatchExpressions) == 0 && len(p.Spec.Ingress) == 0 {
				denyAll = true
			}
		}
		assert.True(t, denyAll, "no default-deny ingress policy")
		need := map[string][]intstr.IntOrString{} // workload → ports
		for _, s := range o.Services {
			for _, w := range selected(o, s.Spec.Selector) {
				for _, p := range s.Spec.Ports {
					need[w] = append(need[w], p.TargetPort)
				}
			}
		}
		for _, m := range o.PodMonitors {
			for _, w := range selected(o, m.Spec.Selector.MatchLabels) {
				for _, e := range m.Spec.PodMetricsEndpoints {
					need[w] = append(need[w], intstr.FromString(*e.Port))
				}
			}
		}
		for w, ports := range need {
			for _, port := range ports {
				assert.True(t, allowed(o, w, port), "%s: no NetworkPolicy lets in port %s", w, port.String())
			}
		}
	})
}

// allowed reports whether some policy selecting the workload's pods lets
// traffic in on port (names and numbers resolved through its containers).
func allowed(o k8scheck.Objects, workload string, port intstr.IntOrString) bool {
	labels := templateLabels(o)[workload]
	want, _ := resolve(o, workload, port)
	for _, p := range o.NetworkPolicies {
		if !selects(p.Spec.PodSelector.MatchLabels, labels) {
			continue
		}
		for _, rule := range p.Spec.Ingress {
			for _, rp := range rule.Ports {
				if rp.Port == nil {
					return true
				}
				if got, ok := resolve(o, workload, *rp.Port); ok && got == want {
					return true
				}
			}
		}
	}
	return false
}

func resolve(o k8scheck.Objects, workload string, port intstr.IntOrString) (int32, bool) {
	for _, w := range o.Workloads() {
		if w.Name == workload {
			for _, c := range w.Template.Spec.Containers {
				if n, ok := containerPort(c, port); ok {
					return n, true
				}
			}
		}
	}
	return 0, false
}

// Our binaries reach Redis and Kafka: in an overlay that runs them, by the
// name and port of a Service of the overlay; otherwise by a Secret, as no
// password may sit in a manifest.
func TestBackends_AreServicesOfTheOverlayOrSecrets(t *testing.T) {
	forEachOverlay(t, func(t *testing.T, o k8scheck.Objects) {
		for _, c := range oursIn(t, o) {
			redisURL, err := url.Parse(c.cfg.Redis.URL)
			if !assert.NoError(t, err) {
				continue
			}
			addrs := map[string]string{"REDIS_URL": redisURL.Host}
			for i, b := range strings.Split(c.cfg.Kafka.Bootstrap, ",") {
				addrs["KAFKA_BOOTSTRAP_SERVERS#"+strconv.Itoa(i)] = b
			}
			for name, addr := range addrs {
				env := strings.Split(name, "#")[0]
				if fromSecret(c.container, env) {
					continue
				}
				host, port, err := net.SplitHostPort(addr)
				if !assert.NoError(t, err, "%s: %s", c.where, name) {
					continue
				}
				s := o.Service(host)
				if !assert.NotNil(t, s, "%s: %s names %s, which is no Service of the overlay; take it from a Secret", c.where, env, host) {
					continue
				}
				assert.True(t, servicePort(s, port), "%s: Service %s has no port %s", c.where, host, port)
			}
		}
	})
}

func fromSecret(c corev1.Container, name string) bool {
	for _, e := range c.Env {
		if e.Name == name {
			return e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil
		}
	}
	return false
}

func servicePort(s *corev1.Service, port string) bool {
	for _, p := range s.Spec.Ports {
		if strconv.Itoa(int(p.Port)) == port {
			return true
		}
	}
	return false
}
