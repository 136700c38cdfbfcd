package check_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/1000x-rps-server/rps-server/observability/check"
	"github.com/1000x-rps-server/rps-server/tests/infra"
)

// TestPrometheus runs a real Prometheus with the project's scrape config and
// rules against a real cmd/server and cmd/worker (on the real Redis and
// Kafka) under traffic, and checks what an operator relies on: both
// /metrics pass promtool's lint, every metric a panel or rule names is
// exported, both targets are up, every rule loads healthy, and every
// recording rule returns data.
func TestPrometheus(t *testing.T) {
	redisURL, bootstrap := infra.RedisURL(t), infra.KafkaBootstrap(t)
	promBin := infra.Tool(t, "PROMETHEUS_BIN", "prometheus", "bash deployments/scripts/prometheus.sh install")
	bins := buildBinaries(t)

	id := uuid.NewString()[:8]
	env := []string{
		"REDIS_URL=" + redisURL, "KAFKA_BOOTSTRAP_SERVERS=" + bootstrap,
		"TASKS_TOPIC=tasks-obs-" + id, "RESULTS_TOPIC=results-obs-" + id,
		"RPS_GATE__KEY={obs-" + id + "}:gate", "RPS_WORKER__LEDGER_PREFIX=obs-" + id + ":issued:",
		"RPS_LOG__FORMAT=json", "HOST=127.0.0.1",
	}
	workerAddr := infra.FreeAddr(t)
	startProc(t, filepath.Join(bins, "worker"), nil, append(env, "RPS_WORKER__ADMIN_ADDR="+workerAddr))
	// As in the compose stack: the server's /metrics on its admin listener.
	serverAddr, serverAdmin := infra.FreeAddr(t), infra.FreeAddr(t)
	_, port, _ := net.SplitHostPort(serverAddr)
	startProc(t, filepath.Join(bins, "server"), nil, append(env, "PORT="+port, "RPS_HTTP__ADMIN_ADDR="+serverAdmin))
	api, server, worker := "http://"+serverAddr, "http://"+serverAdmin, "http://"+workerAddr
	waitOK(t, api+"/readyz")
	waitOK(t, worker+"/readyz")
	sendTraffic(t, api)
	resp, err := http.Get(api + "/metrics")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "no /metrics on the API's port")

	// Both /metrics pages pass promtool's lint and, once traffic has gone
	// through (some series exist only then: the lag needs the client to
	// have fetched), export every name the dashboard and the rules use.
	var missing []string
	require.Eventually(t, func() bool {
		exported := map[string]bool{}
		for _, base := range []string{server, worker} {
			for _, name := range familyNames(get(t, base+"/metrics")) {
				exported[name] = true
			}
		}
		missing = unexported(t, exported)
		return len(missing) == 0
	}, time.Minute, time.Second, "named by the dashboard or the rules, exported by neither binary: %v", &missing)
	for _, base := range []string{server, worker} {
		cmd := exec.Command(promtool(t), "check", "metrics")
		cmd.Stdin = strings.NewReader(get(t, base+"/metrics"))
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "promtool check metrics on %s/metrics:\n%s", base, out)
	}

	prom := startPrometheus(t, promBin, map[string]string{"server": serverAdmin, "worker": workerAddr})

	var targets struct {
		ActiveTargets []struct {
			Job    string `json:"scrapePool"`
			Health string `json:"health"`
		} `json:"activeTargets"`
	}
	require.Eventually(t, func() bool {
		apiGet(t, prom, "/api/v1/targets", &targets)
		up := 0
		for _, tg := range targets.ActiveTargets {
			if tg.Health == "up" {
				up++
			}
		}
		return up == 2
	}, time.Minute, 500*time.Millisecond, "server and worker targets up: %+v", &targets)

	rules, err := check.Rules()
	require.NoError(t, err)
	var loaded struct {
		Groups []struct {
			Rules []struct {
				Name      string `json:"name"`
				Type      string `json:"type"`
				Health    string `json:"health"`
				LastError string `json:"lastError"`
			} `json:"rules"`
		} `json:"groups"`
	}
	apiGet(t, prom, "/api/v1/rules", &loaded)
	var names []string
	for _, g := range loaded.Groups {
		for _, r := range g.Rules {
			names = append(names, r.Name)
			assert.NotEqual(t, "err", r.Health, "rule %s: %s", r.Name, r.LastError)
		}
	}
	for _, r := range rules {
		assert.Contains(t, names, r.Name(), "rule not loaded")
	}

	// Every recording rule returns data once a few scrapes have happened.
	missing = recordedWithoutData(t, prom, rules)
	deadline := time.Now().Add(2 * time.Minute)
	for len(missing) > 0 && time.Now().Before(deadline) {
		time.Sleep(time.Second)
		missing = recordedWithoutData(t, prom, rules)
	}
	assert.Empty(t, missing, "recording rules that returned no data")
}

// unexported lists where the dashboards and the rules name a metric that is
// neither in exported nor recorded by a rule.
func unexported(t *testing.T, exported map[string]bool) []string {
	t.Helper()
	rules, err := check.Rules()
	require.NoError(t, err)
	known := maps.Clone(exported)
	for _, r := range rules {
		if r.Record != "" {
			known[r.Record] = true
		}
	}
	var missing []string
	use := func(where, expr string) {
		names, err := check.MetricNames(expr)
		require.NoError(t, err, where)
		for _, n := range names {
			if !check.ExportedName(n, known) {
				missing = append(missing, n+" ("+where+")")
			}
		}
	}
	for _, r := range rules {
		use("rule "+r.Name(), r.Expr)
	}
	files, err := check.Dashboards()
	require.NoError(t, err)
	for _, f := range files {
		queries, err := check.DashboardQueries(f)
		require.NoError(t, err)
		for _, q := range queries {
			use(fmt.Sprintf("%s panel %q", filepath.Base(f), q.Panel), q.Expr)
		}
	}
	return missing
}

// recordedWithoutData are the recording rules whose series Prometheus has
// no sample of yet.
func recordedWithoutData(t *testing.T, prom string, rules []check.Rule) []string {
	t.Helper()
	var missing []string
	for _, r := range rules {
		if r.Record == "" {
			continue
		}
		var res struct {
			Result []json.RawMessage `json:"result"`
		}
		apiGet(t, prom, "/api/v1/query?query="+url.QueryEscape(r.Record), &res)
		if len(res.Result) == 0 {
			missing = append(missing, r.Record)
		}
	}
	return missing
}

// familyNames lists the metric families of an exposition (its TYPE lines).
func familyNames(exposition string) []string {
	var names []string
	for line := range strings.Lines(exposition) {
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			names = append(names, strings.Fields(rest)[0])
		}
	}
	return names
}

// startPrometheus runs Prometheus with the project's scrape config, its
// targets replaced by the given job → address, and returns its base URL.
func startPrometheus(t *testing.T, bin string, targets map[string]string) string {
	t.Helper()
	raw, err := os.ReadFile(check.ScrapeConfig)
	require.NoError(t, err)
	var cfg map[string]any
	require.NoError(t, yaml.Unmarshal(raw, &cfg))
	rules, err := check.RuleFiles()
	require.NoError(t, err)
	for i, f := range rules {
		rules[i], err = filepath.Abs(f)
		require.NoError(t, err)
	}
	cfg["rule_files"] = rules
	// The compose stack finds its replicas through Docker's DNS; here the
	// same jobs scrape the processes the test started, and the jobs of
	// what the test does not run (cadvisor) go.
	jobs := map[string]bool{}
	var kept []any
	for _, sc := range cfg["scrape_configs"].([]any) {
		sc := sc.(map[string]any)
		job := sc["job_name"].(string)
		addr, ok := targets[job]
		if !ok {
			t.Logf("scrape job %s left out: the test does not run it", job)
			continue
		}
		delete(sc, "dns_sd_configs")
		sc["static_configs"] = []any{map[string]any{"targets": []string{addr}}}
		kept = append(kept, sc)
		jobs[job] = true
	}
	cfg["scrape_configs"] = kept
	for job := range targets {
		require.True(t, jobs[job], "scrape config has no job %s", job)
	}
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "prometheus.yml")
	out, err := yaml.Marshal(cfg)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(cfgPath, out, 0o600))
	runPromtool(t, "check", "config", cfgPath)

	addr := infra.FreeAddr(t)
	startProc(t, bin, []string{
		"--config.file=" + cfgPath, "--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + addr,
	}, nil)
	base := "http://" + addr
	waitOK(t, base+"/-/ready")
	return base
}

// sendTraffic sends POST /queue and GET / to base, about 40 a second, until
// the test ends: every route the rules aggregate gets samples.
func sendTraffic(t *testing.T, base string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(25 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			method, path := http.MethodPost, "/queue"
			if i%4 == 3 {
				method, path = http.MethodGet, "/"
			}
			req, _ := http.NewRequestWithContext(ctx, method, base+path, nil)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
}

func buildBinaries(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-o", dir+string(os.PathSeparator), "./cmd/server", "./cmd/worker")
	cmd.Dir = "../.." // the service's module
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build:\n%s", out)
	return dir
}

// startProc starts bin and stops it (SIGTERM, then kill) when the test ends;
// its output is shown when the test fails.
func startProc(t *testing.T, bin string, args, env []string) {
	t.Helper()
	var out bytes.Buffer
	var mu sync.Mutex
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = &lockedWriter{w: &out, mu: &mu}
	cmd.Stderr = cmd.Stdout
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			mu.Lock()
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			mu.Unlock()
			t.Logf("last lines of %s:\n%s", filepath.Base(bin), strings.Join(lines[max(0, len(lines)-30):], "\n"))
		}
	})
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func waitOK(t *testing.T, u string) {
	t.Helper()
	require.Eventually(t, func() bool {
		resp, err := http.Get(u)
		if err != nil {
			return false
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 90*time.Second, 100*time.Millisecond, "%s never answered 200", u)
}

func get(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", u, body)
	return string(body)
}

// apiGet reads the data of a Prometheus HTTP API answer into v.
func apiGet(t *testing.T, prom, path string, v any) {
	t.Helper()
	var envelope struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	require.NoError(t, json.Unmarshal([]byte(get(t, prom+path)), &envelope))
	require.Equal(t, "success", envelope.Status, "%s: %s", path, envelope.Error)
	require.NoError(t, json.Unmarshal(envelope.Data, v))
}
