// Package deploy_test checks the deployment files as Compose will read them:
// the service graph, the settings our binaries are given and the ports, so a
// stack that cannot start or silently ignores a setting fails here, without
// a Docker engine.
package deploy_test

import (
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
	Ports   []string `yaml:"ports"`
	Expose  []string `yaml:"expose"`
	Volumes []string `yaml:"volumes"`
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
// machine, and Kafka, Redis and the replicas stay inside its network.
func TestComposePortsAreUniqueAndLocal(t *testing.T) {
	f := loadCompose(t)
	seen := map[string]string{}
	for name, s := range f.Services {
		for _, p := range s.Ports {
			parts := strings.Split(p, ":")
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
	for _, name := range []string{"server", "worker", "kafka", "redis"} {
		if ports := f.Services[name].Ports; len(ports) > 0 {
			t.Errorf("%s publishes %q; it must scale, or stay inside the stack", name, ports)
		}
	}
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
