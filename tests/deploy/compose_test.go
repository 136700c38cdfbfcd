// Package deploy_test checks the deployment files as Compose will read them:
// the service graph, the settings our binaries are given and the ports, so a
// stack that cannot start or silently ignores a setting fails here, without
// a Docker engine.
package deploy_test

import (
	"fmt"
	"net"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/1000x-rps-server/rps-server/configs"
)

// ourImage is the image built from the Dockerfile; its services' settings
// are checked against what configs reads.
const ourImage = "rps-server:latest"

type composeFile struct {
	Services map[string]service `yaml:"services"`
	Volumes  map[string]any     `yaml:"volumes"`
}

type service struct {
	Image       string                       `yaml:"image"`
	Command     []string                     `yaml:"command"`
	Environment map[string]string            `yaml:"environment"`
	DependsOn   map[string]map[string]string `yaml:"depends_on"`
	Healthcheck *struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
	Ports       []string `yaml:"ports"`
	Expose      []string `yaml:"expose"`
	Volumes     []string `yaml:"volumes"`
	Profiles    []string `yaml:"profiles"`
	CapDrop     []string `yaml:"cap_drop"`
	SecurityOpt []string `yaml:"security_opt"`
	Privileged  bool     `yaml:"privileged"`
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	raw, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var f composeFile
	if err := yaml.Unmarshal(raw, &f); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	if len(f.Services) == 0 {
		t.Fatal("docker-compose.yml has no services")
	}
	return f
}

func TestComposeHasTheWholeStack(t *testing.T) {
	f := loadCompose(t)
	for _, name := range []string{"kafka", "redis", "server", "worker", "proxy", "prometheus", "grafana", "cadvisor", "jaeger"} {
		if _, ok := f.Services[name]; !ok {
			t.Errorf("no service %q", name)
		}
	}
	if img := f.Services["kafka"].Image; !strings.HasPrefix(img, "apache/kafka:") {
		t.Errorf("kafka runs %q, want Apache's official apache/kafka image", img)
	}
}

// Every service waits for what it needs to be healthy, not only started, so
// each one it waits for must have a healthcheck.
func TestComposeDependsOnHealthyServices(t *testing.T) {
	f := loadCompose(t)
	for name, s := range f.Services {
		for dep, opts := range s.DependsOn {
			target, ok := f.Services[dep]
			switch {
			case !ok:
				t.Errorf("%s depends on %s, which is no service", name, dep)
			case target.Healthcheck == nil || len(target.Healthcheck.Test) == 0:
				t.Errorf("%s waits for %s, which has no healthcheck", name, dep)
			case opts["condition"] != "service_healthy":
				t.Errorf("%s waits for %s to be %q, want service_healthy", name, dep, opts["condition"])
			}
		}
	}
}

// Our services get only variables they read, with values they accept, and
// their healthchecks probe the ports those values open.
func TestComposeSettingsAreOnesTheServicesRead(t *testing.T) {
	f := loadCompose(t)
	checked := 0
	for name, s := range f.Services {
		if s.Image != ourImage {
			continue
		}
		checked++
		for k := range s.Environment {
			if !configs.ReadsVariable(k) {
				t.Errorf("%s: %s is not a variable the service reads", name, k)
			}
		}
		cfg, err := loadConfig(s)
		if err != nil {
			t.Errorf("%s: its environment does not load: %v", name, err)
			continue
		}
		if !cfg.UsesRedis() || !cfg.UsesKafka() {
			t.Errorf("%s runs without Redis or Kafka: %+v", name, cfg.Redis.URL+" "+cfg.Kafka.Bootstrap)
		}
		if !cfg.UsesTracing() || cfg.Tracing.ServiceName == "" {
			t.Errorf("%s does not send traces to the stack's Jaeger under a name of its own: %+v", name, cfg.Tracing)
		}
		var port string
		switch s.Command[0] {
		case "server":
			port = strconv.Itoa(cfg.HTTP.Port)
		case "worker":
			_, port, _ = net.SplitHostPort(cfg.Worker.AdminAddr)
		default:
			t.Fatalf("%s runs %q, neither server nor worker", name, s.Command)
		}
		if want := []string{"CMD", "readyz", port}; s.Healthcheck == nil || !slices.Equal(s.Healthcheck.Test, want) {
			t.Errorf("%s: healthcheck should be %q (the port it listens on)", name, want)
		}
		if !slices.Contains(s.Expose, port) {
			t.Errorf("%s listens on %s but does not expose it: %q", name, port, s.Expose)
		}
	}
	if checked != 2 {
		t.Errorf("%d services run %s, want server and worker", checked, ourImage)
	}
}

// Published ports are unique and bound to loopback: the stack is for one
// machine, and the replicas stay inside its network (Redis and Kafka are
// published for a server or worker run on the host: see
// TestComposeRedisAndKafkaServeTheHost).
func TestComposePortsAreUniqueAndLocal(t *testing.T) {
	f := loadCompose(t)
	seen := map[string]string{}
	for name, s := range f.Services {
		for _, p := range s.Ports {
			parts := strings.Split(composeDefault(p), ":")
			if len(parts) != 3 || parts[0] != "127.0.0.1" {
				t.Errorf("%s publishes %q, want 127.0.0.1:HOST:CONTAINER", name, p)
				continue
			}
			if other, dup := seen[parts[1]]; dup {
				t.Errorf("host port %s published by %s and %s", parts[1], other, name)
			}
			seen[parts[1]] = name
		}
	}
	for _, name := range []string{"server", "worker"} {
		if ports := f.Services[name].Ports; len(ports) > 0 {
			t.Errorf("%s publishes %q; it must scale", name, ports)
		}
	}
}

// publishedPort is the host port a service publishes for container port
// want, as Compose resolves it with nothing set in the environment.
func publishedPort(t *testing.T, name string, s service, want string) string {
	t.Helper()
	for _, p := range s.Ports {
		parts := strings.Split(composeDefault(p), ":")
		if len(parts) == 3 && parts[2] == want {
			return parts[1]
		}
	}
	t.Fatalf("%s does not publish its port %s: %q", name, want, s.Ports)
	return ""
}

// `docker compose up redis kafka` is the infrastructure of a server or worker
// run on the host with `go run`, at the addresses the README gives: Redis's
// port published, and Kafka's host listener advertising the loopback port it
// is published on (a client bootstraps there, then connects where the broker
// says).
func TestComposeRedisAndKafkaServeTheHost(t *testing.T) {
	f := loadCompose(t)
	redisURL := "redis://127.0.0.1:" + publishedPort(t, "redis", f.Services["redis"], "6379") + "/0"

	kafka := f.Services["kafka"]
	listeners := map[string]string{} // name -> port, of KAFKA_LISTENERS
	for _, l := range strings.Split(kafka.Environment["KAFKA_LISTENERS"], ",") {
		name, addr, _ := strings.Cut(l, "://")
		_, port, _ := net.SplitHostPort(addr)
		listeners[name] = port
	}
	var bootstrap string
	for _, l := range strings.Split(composeDefault(kafka.Environment["KAFKA_ADVERTISED_LISTENERS"]), ",") {
		name, addr, _ := strings.Cut(l, "://")
		host, port, _ := net.SplitHostPort(addr)
		if host != "127.0.0.1" {
			continue
		}
		if got := publishedPort(t, "kafka", kafka, listeners[name]); got != port {
			t.Errorf("kafka advertises %s on 127.0.0.1:%s but publishes its port %s on %s", name, port, listeners[name], got)
		}
		bootstrap = addr
	}
	if bootstrap == "" {
		t.Fatalf("kafka advertises no listener on 127.0.0.1: %s", kafka.Environment["KAFKA_ADVERTISED_LISTENERS"])
	}

	cfg, err := configs.Load(configs.LoadOptions{Environ: []string{"REDIS_URL=" + redisURL, "KAFKA_BOOTSTRAP_SERVERS=" + bootstrap}})
	if err != nil || !cfg.UsesRedis() || !cfg.UsesKafka() {
		t.Fatalf("a host's config on the stack's Redis and Kafka: %v", err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"REDIS_URL=" + redisURL, "KAFKA_BOOTSTRAP_SERVERS=" + bootstrap} {
		if !strings.Contains(string(readme), v) {
			t.Errorf("README.md does not give %s for a server run on the stack's infrastructure", v)
		}
	}
}

// The core (`docker compose up`) is what serves requests and what our
// services send to; monitoring, cAdvisor (which needs privileges Docker
// Desktop and rootless Docker lack) and the replicated Kafka and Redis
// Cluster are profiles of their own. A service
// never waits for one that may not be started with it.
func TestComposeProfiles(t *testing.T) {
	f := loadCompose(t)
	want := map[string][]string{
		"kafka": nil, "redis": nil, "server": nil, "worker": nil, "proxy": nil, "jaeger": nil,
		"prometheus": {"monitoring"}, "grafana": {"monitoring"}, "cadvisor": {"cadvisor"},
		// the replicated topologies (docs/running-at-scale.md), started beside the core
		"kafka-1": {"cluster"}, "kafka-2": {"cluster"}, "kafka-3": {"cluster"}, "redis-cluster-init": {"cluster"},
	}
	for i := 1; i <= 6; i++ {
		want[fmt.Sprintf("redis-%d", i)] = []string{"cluster"}
	}
	for name, s := range f.Services {
		if w, ok := want[name]; !ok {
			t.Errorf("service %s has no profile decided by this test", name)
		} else if !slices.Equal(s.Profiles, w) {
			t.Errorf("%s has profiles %q, want %q", name, s.Profiles, w)
		}
		for dep := range s.DependsOn {
			p := f.Services[dep].Profiles
			if len(p) > 0 && !slices.ContainsFunc(s.Profiles, func(x string) bool { return slices.Contains(p, x) }) {
				t.Errorf("%s (profiles %q) waits for %s, which only profiles %q start", name, s.Profiles, dep, p)
			}
		}
	}
}

// Every key the services write has a TTL that must hold (a gate lease, a
// ledger record, an idempotency key), and the services refuse to start
// under an evicting policy: the stack's Redis has a memory bound and
// refuses writes at it rather than evicting.
func TestComposeRedisNeverEvicts(t *testing.T) {
	cmd := loadCompose(t).Services["redis"].Command
	flag := func(name string) string {
		i := slices.Index(cmd, name)
		if i < 0 || i+1 >= len(cmd) {
			return ""
		}
		return composeDefault(cmd[i+1])
	}
	if got := flag("--maxmemory-policy"); got != "noeviction" {
		t.Errorf("redis runs with --maxmemory-policy %q, want noeviction: %q", got, cmd)
	}
	if !regexp.MustCompile(`^[1-9][0-9]*(kb|mb|gb)$`).MatchString(flag("--maxmemory")) {
		t.Errorf("redis has no --maxmemory bound: %q", cmd)
	}
}

// Our services need no capability and no privilege gain.
func TestComposeOurServicesDropPrivileges(t *testing.T) {
	for _, name := range []string{"server", "worker"} {
		s := loadCompose(t).Services[name]
		if !slices.Equal(s.CapDrop, []string{"ALL"}) || s.Privileged {
			t.Errorf("%s: cap_drop %q, privileged %v; want [ALL] and no privileges", name, s.CapDrop, s.Privileged)
		}
		if !slices.Contains(s.SecurityOpt, "no-new-privileges:true") {
			t.Errorf("%s: security_opt %q lacks no-new-privileges:true", name, s.SecurityOpt)
		}
	}
}

// Grafana's admin password is the user's, from the environment (shell or
// .env), not a constant of the file.
func TestComposeGrafanaPasswordFromTheEnvironment(t *testing.T) {
	got := loadCompose(t).Services["grafana"].Environment["GF_SECURITY_ADMIN_PASSWORD"]
	if !regexp.MustCompile(`^\$\{GRAFANA_ADMIN_PASSWORD(:-[^}]*)?\}$`).MatchString(got) {
		t.Errorf("GF_SECURITY_ADMIN_PASSWORD is %q, want ${GRAFANA_ADMIN_PASSWORD…}", got)
	}
}

// The server sees clients through HAProxy, which adds X-Forwarded-For: it
// believes that header from the proxy's network (Docker's private ranges)
// and from nowhere else, so the logged client address is the client's.
func TestComposeServerTrustsTheProxy(t *testing.T) {
	cfg, err := loadConfig(loadCompose(t).Services["server"])
	if err != nil {
		t.Fatal(err)
	}
	for _, ip := range []string{"172.18.0.5", "192.168.16.3", "10.89.0.2"} { // bridge networks of Docker and Podman
		if !trusts(t, cfg.HTTP.TrustedProxies, ip) {
			t.Errorf("http.trusted_proxies %q does not cover a proxy at %s", cfg.HTTP.TrustedProxies, ip)
		}
	}
	for _, ip := range []string{"203.0.113.7", "127.0.0.1"} {
		if trusts(t, cfg.HTTP.TrustedProxies, ip) {
			t.Errorf("http.trusted_proxies %q believes %s, which is no proxy of the stack", cfg.HTTP.TrustedProxies, ip)
		}
	}
	raw, err := os.ReadFile("../../deployments/haproxy/haproxy.cfg")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^\s*option forwardfor\b`).Match(raw) {
		t.Error("haproxy.cfg does not add X-Forwarded-For (option forwardfor)")
	}
}

func trusts(t *testing.T, cidrs, ip string) bool {
	t.Helper()
	for _, c := range strings.Split(cidrs, ",") {
		_, n, err := net.ParseCIDR(strings.TrimSpace(c))
		if err != nil {
			t.Fatalf("http.trusted_proxies: %v", err)
		}
		if n.Contains(net.ParseIP(ip)) {
			return true
		}
	}
	return false
}

// Every named volume a service mounts is declared, and every bind-mounted
// file of ours exists.
func TestComposeVolumesExist(t *testing.T) {
	f := loadCompose(t)
	for name, s := range f.Services {
		for _, v := range s.Volumes {
			src := strings.Split(v, ":")[0]
			switch {
			case strings.HasPrefix(src, "./"):
				if _, err := os.Stat("../../" + src); err != nil {
					t.Errorf("%s mounts %s: %v", name, src, err)
				}
			case !strings.HasPrefix(src, "/"):
				if _, ok := f.Volumes[src]; !ok {
					t.Errorf("%s mounts volume %s, which is not declared", name, src)
				}
			}
		}
	}
}

// loadConfig is the config our service s loads from its environment.
func loadConfig(s service) (configs.Config, error) {
	var environ []string
	for k, v := range s.Environment {
		environ = append(environ, k+"="+composeDefault(v))
	}
	return configs.Load(configs.LoadOptions{Environ: environ})
}

// metricsPort is where our service s serves /metrics: the server's admin
// port when http.admin_addr is set, else its API port; the worker's admin
// port.
func metricsPort(t *testing.T, s service) string {
	t.Helper()
	cfg, err := loadConfig(s)
	if err != nil {
		t.Fatal(err)
	}
	addr := cfg.Worker.AdminAddr
	if s.Command[0] == "server" {
		if cfg.HTTP.AdminAddr == "" {
			return strconv.Itoa(cfg.HTTP.Port)
		}
		addr = cfg.HTTP.AdminAddr
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return port
}

var interpolation = regexp.MustCompile(`\$\{[A-Z0-9_]+:-([^}]*)\}`)

// composeDefault resolves ${NAME:-default} as Compose does when NAME is unset.
func composeDefault(v string) string { return interpolation.ReplaceAllString(v, "$1") }

// Prometheus scrapes every replica of the services it names, on ports they
// expose; ours on the port where they serve /metrics.
func TestPrometheusScrapesTheComposeServices(t *testing.T) {
	f := loadCompose(t)
	raw, err := os.ReadFile("../../observability/prometheus/prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	var prom struct {
		ScrapeConfigs []struct {
			JobName      string `yaml:"job_name"`
			DNSSDConfigs []struct {
				Names []string `yaml:"names"`
				Port  int      `yaml:"port"`
			} `yaml:"dns_sd_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(raw, &prom); err != nil {
		t.Fatalf("prometheus.yml: %v", err)
	}
	jobs := map[string]bool{}
	for _, sc := range prom.ScrapeConfigs {
		for _, sd := range sc.DNSSDConfigs {
			for _, name := range sd.Names {
				jobs[name] = true
				s, ok := f.Services[name]
				port := strconv.Itoa(sd.Port)
				switch {
				case !ok:
					t.Errorf("job %s scrapes %s, which is no service", sc.JobName, name)
				case !slices.Contains(s.Expose, port):
					t.Errorf("job %s scrapes %s:%s, a port it does not expose (%q)", sc.JobName, name, port, s.Expose)
				case s.Image == ourImage && port != metricsPort(t, s):
					t.Errorf("job %s scrapes %s:%s, but it serves /metrics on %s", sc.JobName, name, port, metricsPort(t, s))
				}
			}
		}
	}
	for _, name := range []string{"server", "worker"} {
		if !jobs[name] {
			t.Errorf("no scrape of every %s replica (dns_sd_configs)", name)
		}
	}
}
