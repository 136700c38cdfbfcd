package e2e_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/rueidis"
	"github.com/stretchr/testify/require"

	testinfra "github.com/1000x-rps-server/rps-server/tests/infra"
)

// binDir holds the cmd/server and cmd/worker binaries built once by TestMain.
var binDir string

// infra is the real Redis and Kafka the tests run against (from the test
// command's environment: go tool task test starts both).
type infra struct {
	redisURL  string
	bootstrap string
	redis     rueidis.Client // raw, to look at the gate and the ledger from outside
}

func needInfra(t *testing.T) infra {
	t.Helper()
	in := infra{redisURL: testinfra.RedisURL(t), bootstrap: testinfra.KafkaBootstrap(t)}
	in.redis = testinfra.RedisClient(t, in.redisURL)
	return in
}

// stampedVersion is linked into the binaries as a release build stamps its own.
const stampedVersion = "v0.0.0-e2e"

func buildBinaries() (string, error) {
	dir, err := os.MkdirTemp("", "rps-e2e-bin")
	if err != nil {
		return "", err
	}
	cmd := exec.Command("go", "build", "-ldflags", "-X main.version="+stampedVersion,
		"-o", dir+string(os.PathSeparator), "../../cmd/server", "../../cmd/worker")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build: %w", err)
	}
	return dir, nil
}

// stack is one isolated deployment: topics and gate key of its own, so tests
// never see each other's traffic.
type stack struct {
	in           infra
	env          []string
	gateKey      string
	ledgerPrefix string
	servers      []*proc
	workers      []*proc
	serverBy     map[*proc]string // base URL per server process
}

func newStack(t *testing.T, in infra, extraEnv ...string) *stack {
	t.Helper()
	id := uuid.NewString()[:8]
	s := &stack{in: in, gateKey: "{e2e-" + id + "}:gate", ledgerPrefix: "e2e-" + id + ":issued:", serverBy: map[*proc]string{}}
	s.env = append([]string{
		"REDIS_URL=" + in.redisURL,
		"KAFKA_BOOTSTRAP_SERVERS=" + in.bootstrap,
		"TASKS_TOPIC=tasks-" + id,
		"RESULTS_TOPIC=results-" + id,
		"RPS_GATE__KEY=" + s.gateKey,
		"RPS_WORKER__LEDGER_PREFIX=" + s.ledgerPrefix,
		"RPS_WORKER__GROUP=workers-" + id,
		"RPS_WORKER__LEDGER_TTL=10m",
		"RPS_LOG__FORMAT=json",
		"RPS_HTTP__SHUTDOWN_DELAY=0s", // no load balancer to tell: stop at once
		"HOST=127.0.0.1",
	}, extraEnv...)
	return s
}

// startWorker starts a cmd/worker and waits until it is ready; env is
// added to the stack's (a later value wins).
func (s *stack) startWorker(t *testing.T, env ...string) *proc {
	t.Helper()
	addr := testinfra.FreeAddr(t)
	p := startProc(t, "worker", append(append(slices.Clone(s.env), env...), "RPS_WORKER__METRICS_ADDR="+addr))
	p.admin = "http://" + addr
	waitReady(t, p.admin+"/readyz", p)
	s.workers = append(s.workers, p)
	return p
}

// startServer starts a cmd/server and returns its base URL once /readyz is
// 200; env is added to the stack's (a later value wins).
func (s *stack) startServer(t *testing.T, env ...string) string {
	t.Helper()
	addr := testinfra.FreeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	p := startProc(t, "server", append(append(slices.Clone(s.env), env...), "PORT="+port))
	base := "http://" + addr
	waitReady(t, base+"/readyz", p)
	s.servers = append(s.servers, p)
	s.serverBy[p] = base
	return base
}

// proc is a child process whose output goes to a log file kept for failures.
type proc struct {
	name  string
	cmd   *exec.Cmd
	log   string
	admin string // a worker's /metrics and /readyz base URL
	done  chan struct{}
	err   error
}

func startProc(t *testing.T, name string, env []string) *proc {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	logFile, err := os.Create(logPath)
	require.NoError(t, err)
	cmd := exec.Command(filepath.Join(binDir, name))
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	require.NoError(t, cmd.Start())
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		_ = logFile.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop(t, 30*time.Second)
		if t.Failed() {
			dumpLog(t, p)
		}
	})
	return p
}

// stop sends SIGTERM and waits for a graceful exit, then kills.
func (p *proc) stop(t *testing.T, grace time.Duration) {
	t.Helper()
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		t.Errorf("%s did not stop within %s after SIGTERM; killing it", p.name, grace)
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func dumpLog(t *testing.T, p *proc) {
	t.Helper()
	f, err := os.Open(p.log)
	if err != nil {
		return
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	t.Logf("last lines of %s log:\n%s", p.name, strings.Join(lines, "\n"))
}

// waitReady polls url until it answers 200, failing early if p exits.
func waitReady(t *testing.T, url string, p *proc) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			dumpLog(t, p)
			t.Fatalf("%s exited before it was ready: %v", p.name, p.err)
		default:
		}
		resp, err := http.Get(url)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	dumpLog(t, p)
	t.Fatalf("%s not ready at %s within 90s", p.name, url)
}

// outcome tallies what users got back.
type outcome struct {
	mu       sync.Mutex
	statuses map[int]int
	codes    map[string]int
	errors   []error
}

func (o *outcome) add(status int, code string, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err != nil {
		o.errors = append(o.errors, err)
		return
	}
	o.statuses[status]++
	if code != "" {
		o.codes[code]++
	}
}

// duplicates counts codes handed out more than once.
func (o *outcome) duplicates() int {
	n := 0
	for _, c := range o.codes {
		if c > 1 {
			n += c - 1
		}
	}
	return n
}

// runUsers sends total POST /queue requests, at most concurrency at once,
// spread round-robin over the given servers.
func runUsers(ctx context.Context, bases []string, total, concurrency int) *outcome {
	o := &outcome{statuses: map[int]int{}, codes: map[string]int{}}
	client := &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: concurrency, MaxConnsPerHost: 0},
	}
	defer client.CloseIdleConnections()
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	for i := range total {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			o.add(testinfra.PostQueue(ctx, client, bases[i%len(bases)]))
		})
	}
	wg.Wait()
	return o
}

// runUsersUntil keeps concurrency users sending POST /queue back to back
// until stop is closed (a request under way then finishes), spread
// round-robin over the servers.
func runUsersUntil(ctx context.Context, bases []string, stop <-chan struct{}, concurrency int) *outcome {
	o := &outcome{statuses: map[int]int{}, codes: map[string]int{}}
	client := &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: concurrency},
	}
	defer client.CloseIdleConnections()
	stopped := func() bool {
		select {
		case <-stop:
			return true
		default:
			return ctx.Err() != nil
		}
	}
	var wg sync.WaitGroup
	for u := range concurrency {
		wg.Go(func() {
			for i := 0; !stopped(); i++ {
				o.add(testinfra.PostQueue(ctx, client, bases[(u+i)%len(bases)]))
			}
		})
	}
	wg.Wait()
	return o
}

// kill ends the process at once (SIGKILL), as a crash would.
func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}
