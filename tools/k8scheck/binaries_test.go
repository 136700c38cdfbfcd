package k8scheck_test

import (
	"maps"
	"net"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/1000x-rps-server/rps-server/configs"
	"github.com/1000x-rps-server/rps-server/tools/k8scheck"
)

// ours is a container running one of the image's binaries, with the config
// that binary loads from the container's environment.
type ours struct {
	where     string
	binary    string // server or worker
	pod       corev1.PodSpec
	container corev1.Container
	cfg       configs.Config
}

// listener is one address a binary listens on, with the routes it serves
// there as the source registers them.
type listener struct {
	host   string
	routes []string
}

// listeners are the ports the binary listens on, from its config: the
// server's API (http.port) and, when http.admin_addr is set, its admin
// listener, which then has /metrics instead of the API (serverapp's
// buildAPI; proved by cmd/server's TestRun_MetricsOnTheAdminListenerOnly);
// the worker's admin listener (worker.admin_addr).
func (c ours) listeners(t *testing.T) map[int32]listener {
	t.Helper()
	routes := func(dir string) []string {
		r, err := k8scheck.Routes(root, dir)
		require.NoError(t, err)
		return r
	}
	out := map[int32]listener{}
	admin := func(addr, dir string) {
		if addr == "" {
			return
		}
		host, port, err := net.SplitHostPort(addr)
		require.NoError(t, err)
		n, err := strconv.ParseInt(port, 10, 32)
		require.NoError(t, err)
		out[int32(n)] = listener{host: host, routes: routes(dir)}
	}
	switch c.binary {
	case "server":
		api := routes(k8scheck.ServerRoutes)
		require.Contains(t, api, "/queue", "the server's route table was not found where it was")
		if c.cfg.HTTP.AdminAddr != "" {
			api = slices.DeleteFunc(api, func(r string) bool { return r == "/metrics" })
		}
		out[int32(c.cfg.HTTP.Port)] = listener{host: c.cfg.HTTP.Host, routes: api}
		admin(c.cfg.HTTP.AdminAddr, k8scheck.ServerAdminRoutes)
	case "worker":
		admin(c.cfg.Worker.AdminAddr, k8scheck.WorkerRoutes)
	default:
		t.Fatalf("%s: no listeners known for binary %q", c.where, c.binary)
	}
	return out
}

// oursIn finds every container of the overlay that runs our image and
// loads its config from its environment; the image's name is the one
// `go tool task image` builds. A container that cannot load fails here.
func oursIn(t *testing.T, o k8scheck.Objects) []ours {
	t.Helper()
	image, err := k8scheck.ImageName(root)
	require.NoError(t, err)
	bins, err := k8scheck.ImageBinaries(root)
	require.NoError(t, err)
	var out []ours
	for _, w := range o.Workloads() {
		for _, c := range w.Template.Spec.Containers {
			if k8scheck.ParseImage(c.Image).Name() != image {
				continue
			}
			where := o.Overlay + "/" + w.Kind + "/" + w.Name + "/" + c.Name
			if !assert.Len(t, c.Command, 1, "%s: command names the binary alone", where) {
				continue
			}
			if !assert.Contains(t, bins, c.Command[0], "%s runs %q, which the image does not have", where, c.Command) {
				continue
			}
			environ, err := k8scheck.Environ(c)
			if !assert.NoError(t, err, where) {
				continue
			}
			cfg, err := configs.Load(configs.LoadOptions{Environ: environ})
			if !assert.NoError(t, err, "%s: the binary would not start with this environment", where) {
				continue
			}
			out = append(out, ours{where: where, binary: c.Command[0], pod: w.Template.Spec, container: c, cfg: cfg})
		}
	}
	return out
}

// Each overlay runs a server and a worker of our image, under their
// Deployments' names, each against Redis and Kafka: the embedded mode
// (in-memory gate, in-process worker) would give every replica a gate of
// its own.
func TestOurContainers_RunServerAndWorkerAgainstRedisAndKafka(t *testing.T) {
	forEachOverlay(t, func(t *testing.T, o k8scheck.Objects) {
		var got []string
		for _, c := range oursIn(t, o) {
			got = append(got, c.where)
			assert.True(t, c.cfg.UsesRedis(), "%s: no Redis (REDIS_URL)", c.where)
			assert.True(t, c.cfg.UsesKafka(), "%s: no Kafka (KAFKA_BOOTSTRAP_SERVERS)", c.where)
		}
		assert.ElementsMatch(t, []string{
			o.Overlay + "/Deployment/rps-server/server", o.Overlay + "/Deployment/rps-worker/worker",
		}, got)
	})
}

// Every variable a manifest gives our binaries is one they read (a typo is
// refused at start, or ignored if it is not RPS_-prefixed: either way a
// setting lost), and every image is the one `go tool task image` builds.
func TestOurContainers_SetOnlySettingsTheBinariesRead(t *testing.T) {
	user, err := k8scheck.ImageUser(root)
	require.NoError(t, err)
	forEachOverlay(t, func(t *testing.T, o k8scheck.Objects) {
		for _, c := range oursIn(t, o) {
			for _, e := range c.container.Env {
				assert.True(t, configs.ReadsVariable(e.Name), "%s: %s is no variable the binary reads", c.where, e.Name)
			}
			var uid *int64
			if sc := c.container.SecurityContext; sc != nil && sc.RunAsUser != nil {
				uid = sc.RunAsUser
			} else if c.pod.SecurityContext != nil {
				uid = c.pod.SecurityContext.RunAsUser
			}
			if assert.NotNil(t, uid, "%s: runAsUser", c.where) {
				assert.Equal(t, user, *uid, "%s: runAsUser is the image's user (Dockerfile USER)", c.where)
			}
		}
	})
}

// Probes, container ports and the Service reach what the binary serves:
// every probe's port is one the binary listens on (from its config), every
// HTTP probe's path a route it registers there, no container port is one
// it does not open, and liveness never asks /readyz (a shared outage would
// restart every pod).
func TestOurContainers_ProbeWhatTheBinariesServe(t *testing.T) {
	forEachOverlay(t, func(t *testing.T, o k8scheck.Objects) {
		for _, c := range oursIn(t, o) {
			listeners := c.listeners(t)
			for _, p := range c.container.Ports {
				_, ok := listeners[p.ContainerPort]
				assert.True(t, ok, "%s: container port %s (%d) is not one the binary listens on (%v)", c.where, p.Name, p.ContainerPort, slices.Collect(maps.Keys(listeners)))
			}
			for port, l := range listeners {
				ip := net.ParseIP(l.host)
				assert.False(t, ip != nil && ip.IsLoopback(), "%s: listens on loopback (%s) on port %d: the kubelet cannot probe it, nor Prometheus scrape it", c.where, l.host, port)
			}
			for kind, p := range map[string]*corev1.Probe{"startup": c.container.StartupProbe, "liveness": c.container.LivenessProbe, "readiness": c.container.ReadinessProbe} {
				if p == nil {
					continue // TestContainers_MeetThePlatformPolicy fails it
				}
				assert.Nil(t, p.Exec, "%s: %s probe: exec; probe a port the binary serves", c.where, kind)
				var port intstr.IntOrString
				switch {
				case p.HTTPGet != nil:
					port = p.HTTPGet.Port
				case p.TCPSocket != nil:
					port = p.TCPSocket.Port
				default:
					continue
				}
				n, ok := containerPort(c.container, port)
				if !assert.True(t, ok, "%s: %s probe port %s is no container port", c.where, kind, port.String()) {
					continue
				}
				l, ok := listeners[n]
				if !assert.True(t, ok, "%s: %s probe port %d: the binary does not listen there", c.where, kind, n) {
					continue
				}
				if p.HTTPGet != nil {
					assert.Contains(t, l.routes, p.HTTPGet.Path, "%s: %s probe path is no route the binary serves on port %d", c.where, kind, n)
					if kind == "liveness" {
						assert.NotEqual(t, "/readyz", p.HTTPGet.Path, "%s: liveness on /readyz restarts pods when Redis or Kafka is down", c.where)
					}
				}
			}
		}
	})
}

// Kubernetes sends SIGTERM, waits terminationGracePeriodSeconds, then
// kills: the server's preStop plus its unready delay and drain, and the
// worker's drain plus leaving the group, must fit.
func TestOurContainers_GracePeriodsCoverTheDrains(t *testing.T) {
	leave, err := k8scheck.GroupLeaveBound(root)
	require.NoError(t, err)
	forEachOverlay(t, func(t *testing.T, o k8scheck.Objects) {
		for _, c := range oursIn(t, o) {
			grace := 30 * time.Second // Kubernetes' default
			if c.pod.TerminationGracePeriodSeconds != nil {
				grace = time.Duration(*c.pod.TerminationGracePeriodSeconds) * time.Second
			}
			var need time.Duration
			switch c.binary {
			case "server":
				pre := c.container.Lifecycle
				if !assert.True(t, pre != nil && pre.PreStop != nil && pre.PreStop.Sleep != nil, "%s: a preStop sleep, so the endpoint's removal spreads before SIGTERM", c.where) {
					continue
				}
				need = time.Duration(pre.PreStop.Sleep.Seconds)*time.Second + c.cfg.HTTP.ShutdownDelay + c.cfg.HTTP.ShutdownGrace
			case "worker":
				need = c.cfg.Worker.DrainTimeout + leave
			}
			assert.GreaterOrEqual(t, grace, need, "%s: terminationGracePeriodSeconds %s is shorter than the shutdown it must fit (%s)", c.where, grace, need)
		}
	})
}

// containerPort resolves a probe's or Service's port (a number or a
// container port's name) to the container's port number.
func containerPort(c corev1.Container, port intstr.IntOrString) (int32, bool) {
	for _, p := range c.Ports {
		if (port.Type == intstr.String && p.Name == port.StrVal) || (port.Type == intstr.Int && p.ContainerPort == port.IntVal) {
			return p.ContainerPort, true
		}
	}
	return 0, false
}
