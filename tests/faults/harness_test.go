package faults_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/tests/infra"
	"github.com/1000x-rps-server/rps-server/tests/metricstest"
)

// binDir holds the cmd/server binary, built once by TestMain.
var binDir string

func TestMain(m *testing.M) {
	dir, err := infra.BuildServiceBinaries("rps-faults-bin")
	binDir = dir
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults: build:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(binDir)
	os.Exit(code)
}

// Settings every case's server starts with: a small gate, Redis calls that
// fail fast, a short header timeout for slowloris, no pre-stop delay (the
// SIGTERM case sets its own), the profiler to force a GC before measuring.
const (
	capacity       = 20
	commandTimeout = 500 * time.Millisecond
	requestTimeout = 6 * time.Second // the longest any request may take
)

// server is one cmd/server process.
type server struct {
	t       *testing.T
	base    string // http://host:port
	pprof   string // host:port of its profiler
	gateKey string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	err     error
}

// startServer runs cmd/server against redisURL (empty: in-memory gate) with
// the in-process worker, plus extra settings, and waits until it is ready.
func startServer(t *testing.T, redisURL string, extra ...string) *server {
	t.Helper()
	s := launchServer(t, redisURL, extra...)
	require.Eventually(t, func() bool { return s.status(http.MethodGet, "/readyz") == http.StatusOK },
		30*time.Second, 50*time.Millisecond, "server ready")
	return s
}

// launchServer is startServer without waiting for readiness; it waits only
// until the server answers /healthz.
func launchServer(t *testing.T, redisURL string, extra ...string) *server {
	t.Helper()
	addr, pprof := infra.FreeAddr(t), infra.FreeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	s := &server{t: t, base: "http://" + addr, pprof: pprof, gateKey: "{faults-" + uuid.NewString()[:8] + "}:gate",
		logPath: filepath.Join(t.TempDir(), "server.log"), done: make(chan struct{})}
	env := append([]string{
		"HOST=127.0.0.1", "PORT=" + port, "REDIS_URL=" + redisURL, "KAFKA_BOOTSTRAP_SERVERS=",
		"RATE_LIMIT_CAPACITY=" + strconv.Itoa(capacity), "RPS_GATE__KEY=" + s.gateKey,
		"RPS_REDIS__COMMAND_TIMEOUT=" + commandTimeout.String(), "RPS_REDIS__DIAL_TIMEOUT=" + commandTimeout.String(),
		"KAFKA_GIFT_CODE_TIMEOUT=5", "RPS_HTTP__REQUEST_TIMEOUT=" + requestTimeout.String(),
		"RPS_HTTP__READ_HEADER_TIMEOUT=1s", "RPS_HTTP__SHUTDOWN_DELAY=0s", "RPS_HTTP__SHUTDOWN_GRACE=10s",
		"RPS_DEBUG__PPROF_ADDR=" + pprof, "RPS_LOG__FORMAT=json", "RPS_LOG__LEVEL=info",
	}, extra...)
	logFile, err := os.Create(s.logPath)
	require.NoError(t, err)
	s.cmd = exec.Command(filepath.Join(binDir, "server"))
	s.cmd.Env, s.cmd.Stdout, s.cmd.Stderr = append(os.Environ(), env...), logFile, logFile
	require.NoError(t, s.cmd.Start())
	go func() {
		s.err = s.cmd.Wait()
		_ = logFile.Close()
		close(s.done)
	}()
	t.Cleanup(func() {
		assert.NoError(t, s.terminate(15*time.Second), "the server exits 0 on SIGTERM")
		if t.Failed() {
			log, _ := os.ReadFile(s.logPath)
			t.Logf("server log:\n%s", tail(string(log), 40))
		}
	})
	require.Eventually(t, func() bool { return s.status(http.MethodGet, "/healthz") == http.StatusOK },
		30*time.Second, 50*time.Millisecond, "server listening")
	return s
}

// terminate sends SIGTERM and waits up to grace for the exit, then kills.
func (s *server) terminate(grace time.Duration) error {
	select {
	case <-s.done:
		return s.err
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		return s.err
	case <-time.After(grace):
		_ = s.cmd.Process.Kill()
		<-s.done
		return fmt.Errorf("did not exit within %s of SIGTERM", grace)
	}
}

// log is the server's log so far.
func (s *server) log() string {
	b, _ := os.ReadFile(s.logPath)
	return string(b)
}

// status sends one request without a body and returns its status, 0 on a
// transport error.
func (s *server) status(method, path string) int {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout+2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, nil)
	if err != nil {
		return 0
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// burst sends n POST /queue at once and returns their statuses.
func (s *server) burst(n int) []int {
	out := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { out[i] = s.status(http.MethodPost, "/queue") })
	}
	wg.Wait()
	return out
}

// health is what the end of every case checks: the server's goroutines back
// near the count it had before the fault, and its memory under a bound
// after a forced GC.
type health struct{ goroutines float64 }

func (s *server) baseline() health {
	s.t.Helper()
	s.forceGC()
	return health{goroutines: metricstest.Scrape(s.t, s.base, "go_goroutines")}
}

// checkRecovered allows a few goroutines over the baseline (idle keep-alive
// connections of the test's own client, timers) and maxRSS of memory.
func (s *server) checkRecovered(before health, maxRSS int64) {
	s.t.Helper()
	http.DefaultClient.CloseIdleConnections()
	var now float64
	ok := assert.Eventually(s.t, func() bool {
		now = metricstest.ScrapeQuiet(s.base, "go_goroutines")
		return now > 0 && now <= before.goroutines+10
	}, 15*time.Second, 100*time.Millisecond, "goroutines back to baseline")
	if !ok {
		s.t.Logf("goroutines %v, baseline %v", now, before.goroutines)
	}
	s.forceGC()
	rss := s.rss()
	s.t.Logf("server after the fault: %v goroutines (baseline %v), RSS %d MiB", now, before.goroutines, rss>>20)
	assert.Less(s.t, rss, maxRSS, "RSS after a forced GC")
}

// forceGC runs a garbage collection in the server through its profiler.
func (s *server) forceGC() {
	resp, err := http.Get("http://" + s.pprof + "/debug/pprof/heap?gc=1")
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// rss is the server's resident memory in bytes, from /proc.
func (s *server) rss() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	require.NoError(s.t, err)
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			require.NoError(s.t, err)
			return kb << 10
		}
	}
	s.t.Fatal("no VmRSS")
	return 0
}

// result is one request of a load run.
type result struct {
	at         time.Time // when it was answered
	took       time.Duration
	status     int // 0: transport error
	retryAfter string
	giftCode   string // of a 200
	err        error
}

// load sends POST /queue from workers goroutines in a loop until stop is
// closed, pausing between requests, and returns every result.
type load struct {
	mu      sync.Mutex
	results []result
	stop    chan struct{}
	wg      sync.WaitGroup
}

func startLoad(s *server, workers int, pause time.Duration) *load {
	l := &load{stop: make(chan struct{})}
	client := &http.Client{Timeout: requestTimeout + 2*time.Second}
	for range workers {
		l.wg.Go(func() {
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				start := time.Now()
				r := result{}
				req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, s.base+"/queue", nil)
				resp, err := client.Do(req)
				if err == nil {
					var body struct {
						GiftCode string `json:"gift_code"`
					}
					_ = json.NewDecoder(resp.Body).Decode(&body)
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					r.status, r.retryAfter, r.giftCode = resp.StatusCode, resp.Header.Get("Retry-After"), body.GiftCode
				}
				r.err, r.at, r.took = err, time.Now(), time.Since(start)
				l.mu.Lock()
				l.results = append(l.results, r)
				l.mu.Unlock()
				time.Sleep(pause)
			}
		})
	}
	return l
}

// finish stops the load and returns its results in the order answered.
func (l *load) finish() []result {
	close(l.stop)
	l.wg.Wait()
	slices.SortFunc(l.results, func(a, b result) int { return a.at.Compare(b.at) })
	return l.results
}

// checkAnswers asserts what a client may see during a fault: 200, 429, or
// 503 with Retry-After; never another 5xx, a dropped connection, or an
// answer later than the request's deadline.
func checkAnswers(t *testing.T, rs []result) map[int]int {
	t.Helper()
	counts := map[int]int{}
	for _, r := range rs {
		counts[r.status]++
		switch r.status {
		case http.StatusOK, http.StatusTooManyRequests:
		case http.StatusServiceUnavailable:
			assert.NotEmpty(t, r.retryAfter, "503 carries Retry-After")
		default:
			assert.Failf(t, "unexpected answer", "status %d err %v after %s", r.status, r.err, r.took)
		}
		assert.LessOrEqual(t, r.took, requestTimeout+time.Second, "answered within its deadline")
	}
	return counts
}

// firstOKAfter is how long after t0 the first 200 came, -1 if none did.
func firstOKAfter(rs []result, t0 time.Time) time.Duration {
	for _, r := range rs {
		if r.status == http.StatusOK && r.at.After(t0) {
			return r.at.Sub(t0)
		}
	}
	return -1
}

// firstNotOKAfter is how long after t0 the first non-200 came, -1 if none.
func firstNotOKAfter(rs []result, t0 time.Time) time.Duration {
	for _, r := range rs {
		if r.status != http.StatusOK && r.at.After(t0) {
			return r.at.Sub(t0)
		}
	}
	return -1
}

// warnLines are the server's log lines at WARN or above with msg containing sub.
func warnLines(log, sub string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, `"level":"WARN"`) && strings.Contains(line, sub) {
			out = append(out, line)
		}
	}
	return out
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// isConnError says whether err is a refused or reset connection.
func isConnError(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)
}

// snapshot is a copy of the results so far, in the order answered.
func (l *load) snapshot() []result {
	l.mu.Lock()
	out := slices.Clone(l.results)
	l.mu.Unlock()
	slices.SortFunc(out, func(a, b result) int { return a.at.Compare(b.at) })
	return out
}

func strconvItoa(n int64) string { return strconv.FormatInt(n, 10) }

func errorsAs(err error, target any) bool { return errors.As(err, target) }
func errorsIs(err, target error) bool     { return errors.Is(err, target) }

// kafkaStack names the topics, group and ledger of one case, so cases never
// see each other's traffic on the shared broker.
type kafkaStack struct {
	env       []string
	id        string
	bootstrap string
}

func (k kafkaStack) tasksTopic() string { return "faults-tasks-" + k.id }
func (k kafkaStack) group() string      { return "faults-" + k.id }

func newKafkaStack(t *testing.T) kafkaStack {
	t.Helper()
	return newKafkaStackOn(infra.KafkaBootstrap(t))
}

// newKafkaStackOn is newKafkaStack on the broker at bootstrap.
func newKafkaStackOn(bootstrap string) kafkaStack {
	id := uuid.NewString()[:8]
	return kafkaStack{id: id, bootstrap: bootstrap, env: []string{
		"KAFKA_BOOTSTRAP_SERVERS=" + bootstrap,
		"TASKS_TOPIC=faults-tasks-" + id, "RESULTS_TOPIC=faults-results-" + id,
		"RPS_WORKER__GROUP=faults-" + id, "RPS_WORKER__LEDGER_PREFIX=faults-" + id + ":issued:",
		"RPS_WORKER__LEDGER_TTL=10m", "RPS_KAFKA__TASKS_PARTITIONS=3",
	}}
}

// worker is one cmd/worker process.
type worker struct {
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	err     error
}

// startWorker runs cmd/worker on the stack and waits until it is ready.
func startWorker(t *testing.T, k kafkaStack, redisURL string) *worker {
	t.Helper()
	admin := infra.FreeAddr(t)
	w := &worker{logPath: filepath.Join(t.TempDir(), "worker.log"), done: make(chan struct{})}
	logFile, err := os.Create(w.logPath)
	require.NoError(t, err)
	w.cmd = exec.Command(filepath.Join(binDir, "worker"))
	w.cmd.Env = append(append(os.Environ(), k.env...), "REDIS_URL="+redisURL, "RPS_WORKER__METRICS_ADDR="+admin,
		"RPS_LOG__FORMAT=json", "KAFKA_GIFT_CODE_TIMEOUT=5", "RPS_HTTP__REQUEST_TIMEOUT="+requestTimeout.String())
	w.cmd.Stdout, w.cmd.Stderr = logFile, logFile
	require.NoError(t, w.cmd.Start())
	go func() {
		w.err = w.cmd.Wait()
		_ = logFile.Close()
		close(w.done)
	}()
	t.Cleanup(func() {
		_ = w.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-w.done:
		case <-time.After(40 * time.Second):
			_ = w.cmd.Process.Kill()
			<-w.done
		}
		if t.Failed() {
			log, _ := os.ReadFile(w.logPath)
			t.Logf("worker log:\n%s", tail(string(log), 30))
		}
	})
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + admin + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 60*time.Second, 100*time.Millisecond, "worker ready")
	return w
}

// kill ends the worker at once, as a crash would.
func (w *worker) kill() {
	_ = w.cmd.Process.Kill()
	<-w.done
}
