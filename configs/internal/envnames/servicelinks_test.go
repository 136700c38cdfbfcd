package envnames

import (
	"fmt"
	"maps"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// servicePort is one port of a Service, as its spec names it.
type servicePort struct {
	name     string // empty for an unnamed port
	port     int
	protocol string // TCP, UDP or SCTP
}

// kubeletVars are the variables the kubelet gives every pod of the
// namespace for a Service with a cluster IP (pkg/kubelet/envvars: the
// service's name upper-cased with - as _, then _SERVICE_HOST, _SERVICE_PORT,
// _SERVICE_PORT_<NAME> per named port, and the Docker-link variables).
func kubeletVars(service, clusterIP string, ports ...servicePort) map[string]string {
	prefix := strings.ToUpper(strings.ReplaceAll(service, "-", "_"))
	vars := map[string]string{
		prefix + "_SERVICE_HOST": clusterIP,
		prefix + "_SERVICE_PORT": strconv.Itoa(ports[0].port),
	}
	for i, p := range ports {
		if p.name != "" {
			vars[prefix+"_SERVICE_PORT_"+strings.ToUpper(strings.ReplaceAll(p.name, "-", "_"))] = strconv.Itoa(p.port)
		}
		proto := strings.ToLower(p.protocol)
		url := proto + "://" + net.JoinHostPort(clusterIP, strconv.Itoa(p.port))
		if i == 0 {
			vars[prefix+"_PORT"] = url
		}
		portPrefix := fmt.Sprintf("%s_PORT_%d_%s", prefix, p.port, p.protocol)
		vars[portPrefix] = url
		vars[portPrefix+"_PROTO"] = proto
		vars[portPrefix+"_PORT"] = strconv.Itoa(p.port)
		vars[portPrefix+"_ADDR"] = clusterIP
	}
	return vars
}

// knownKeys are a few real keys, enough for FromVars to tell settings from
// the rest.
var knownKeys = map[string]string{"http.port": "http.port", "http.host": "http.host", "worker.concurrency": "worker.concurrency", "worker.metrics_addr": "worker.metrics_addr", "gate.capacity": "gate.capacity"}

// noSecrets says no key holds a credential.
func noSecrets(string) bool { return false }

// A pod in a namespace with a Service named rps-server, rps or rps-worker
// gets its service-link variables; they are not settings, and the settings
// set beside them still load.
func TestFromVars_SkipsKubernetesServiceLinks(t *testing.T) {
	type service struct {
		name  string
		links map[string]string
	}
	services := []service{
		{"rps-server", kubeletVars("rps-server", "10.96.12.34", servicePort{"http", 8000, "TCP"})},
		{"rps", kubeletVars("rps", "10.96.0.10", servicePort{"", 80, "TCP"}, servicePort{"metrics", 9090, "TCP"})},
		{"rps-worker_ipv6", kubeletVars("rps-worker", "fd00:10:96::a", servicePort{"admin-port", 9100, "TCP"}, servicePort{"", 5353, "UDP"})},
		{"rps-worker-sctp", kubeletVars("rps-worker-sctp", "10.96.7.7", servicePort{"", 9999, "SCTP"})},
	}
	all := map[string]string{}
	for _, svc := range services {
		maps.Copy(all, svc.links)
	}
	services = append(services, service{"all_at_once", all})
	for _, svc := range services {
		t.Run(svc.name, func(t *testing.T) {
			vars := map[string]string{"RPS_GATE__CAPACITY": "50", "RPS_WORKER__METRICS_ADDR": ":9100"}
			maps.Copy(vars, svc.links)
			l, err := FromVars(vars, "the environment", knownKeys, noSecrets)
			require.NoError(t, err)
			assert.Equal(t, map[string]any{"gate.capacity": "50", "worker.metrics_addr": ":9100"}, l.Values, "only the settings are values")
			assert.Empty(t, l.Settings)
		})
	}
}

// Variables that only look like service links are still refused: a typo of
// a key, or a link's name with a value Kubernetes never sets.
func TestFromVars_RefusesWhatIsNoServiceLink(t *testing.T) {
	for name, value := range map[string]string{
		"RPS_SERVR__PORT":                 "8000",                   // a typo of RPS_HTTP__PORT's kind
		"RPS_SERVER_PORT":                 "8000",                   // a link's name, a setting's value
		"RPS_SERVER_SERVICE_HOST":         "rps-server.default.svc", // not an IP
		"RPS_SERVER_SERVICE_PORT":         "http",                   // not a port
		"RPS_SERVER_SERVICE_PORT_HTTP":    "70000",                  // out of range
		"RPS_SERVER_PORT_8000_TCP":        "tcp://10.0.0.1:8001",    // the port in the name differs
		"RPS_SERVER_PORT_8000_TCP_PROTO":  "udp",                    // the protocol in the name differs
		"RPS_SERVER_PORT_8000_TCP_PORT":   "8001",
		"RPS_SERVER_PORT_8000_TCP_ADDR":   "localhost",
		"RPS_SERVER_PORT_8000_HTTP":       "http://10.0.0.1:8000", // no such protocol
		"RPS_SERVER__PORT":                "tcp://10.0.0.1:8000",  // a Service name never ends in -
		"RPS_WORKER__CONCURENCY":          "10",
		"RPS_SERVER_PORT_8000_TCP_ADDR_X": "10.0.0.1",
		"RPS_SERVICE_HOST_EXTRA":          "10.0.0.1",
		"RPS__SERVICE_HOST":               "10.0.0.1",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := FromVars(map[string]string{name: value}, "the environment", knownKeys, noSecrets)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "config: unknown setting "+name)
		})
	}
}

// ServiceLinks names exactly what FromVars skips: not the settings, not the
// variables of other programs.
func TestServiceLinks_ListsWhatFromVarsSkips(t *testing.T) {
	vars := kubeletVars("rps-server", "10.96.12.34", servicePort{"http", 8000, "TCP"})
	vars["RPS_HTTP__PORT"] = "8000"
	vars["REDIS_MASTER_SERVICE_HOST"] = "10.96.0.11"
	assert.Equal(t, []string{
		"RPS_SERVER_PORT", "RPS_SERVER_PORT_8000_TCP", "RPS_SERVER_PORT_8000_TCP_ADDR", "RPS_SERVER_PORT_8000_TCP_PORT",
		"RPS_SERVER_PORT_8000_TCP_PROTO", "RPS_SERVER_SERVICE_HOST", "RPS_SERVER_SERVICE_PORT", "RPS_SERVER_SERVICE_PORT_HTTP",
	}, ServiceLinks(vars, knownKeys))
	assert.Empty(t, ServiceLinks(map[string]string{"RPS_HTTP__PORT": "8000"}, knownKeys))
}
