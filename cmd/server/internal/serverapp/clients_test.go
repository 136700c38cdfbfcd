package serverapp_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/configs"
	"github.com/1000x-rps-server/rps-server/tests/infra"
)

// clientExample is one client of docs/clients.md, as the command a user runs.
type clientExample struct {
	name string
	cmd  func(ctx context.Context, url string, deadline time.Duration) *exec.Cmd
}

// clientExamples builds the Go example and finds python3 for the Python one.
func clientExamples(t *testing.T) []clientExample {
	t.Helper()
	python := infra.Tool(t, "PYTHON3", "python3", "install python3 (Debian: apt-get install python3)")
	goBin := filepath.Join(t.TempDir(), "goclient")
	out, err := exec.CommandContext(t.Context(), "go", "build", "-o", goBin,
		"github.com/1000x-rps-server/rps-server/docs/examples/goclient").CombinedOutput()
	require.NoError(t, err, "go build the Go example: %s", out)
	script, err := filepath.Abs("../../../../docs/examples/python/client.py")
	require.NoError(t, err)
	return []clientExample{
		{name: "go", cmd: func(ctx context.Context, url string, deadline time.Duration) *exec.Cmd {
			return exec.CommandContext(ctx, goBin, "-url", url, "-deadline", deadline.String())
		}},
		{name: "python", cmd: func(ctx context.Context, url string, deadline time.Duration) *exec.Cmd {
			return exec.CommandContext(ctx, python, script, "--url", url, "--deadline", strings.TrimSuffix(deadline.String(), "s"))
		}},
	}
}

// Each client example, refused with 429 by a full gate (capacity 1, its
// slot held by a request whose task the worker holds), waits the
// Retry-After the server sent and retries with the same Idempotency-Key
// once the slot is free, and gets its gift code.
func TestClientExamples_RetryA429WithTheSameKey(t *testing.T) {
	for _, ex := range clientExamples(t) {
		t.Run(ex.name, func(t *testing.T) {
			cfg := configs.Default() // the embedded mode: gate and keys in memory
			cfg.Gate.Capacity = 1
			cfg.HTTP.RetryAfter = time.Second
			w := newWorker(t)
			hold := make(chan struct{})
			w.delay = func(run int32) time.Duration {
				if run == 1 {
					<-hold
				}
				return 0
			}
			srv := newServer(t, cfg, w.proc)
			var holder sync.WaitGroup
			holder.Go(func() { assert.Equal(t, http.StatusOK, postPlain(t, srv.URL)) })
			require.Eventually(t, func() bool { return w.runs.Load() == 1 }, 5*time.Second, 5*time.Millisecond, "the slot is held")

			// The slot frees while the client waits out its Retry-After.
			rec := newTryRecorder(t, srv.URL, sync.OnceFunc(func() { close(hold) }))
			run := runExample(ex.cmd(t.Context(), rec.url, 20*time.Second))
			holder.Wait()
			require.NoError(t, run.err, run.stderr)
			assert.Regexp(t, `^GIFT-\S+\n$`, run.stdout, run.stderr)

			tries := rec.list()
			require.Len(t, tries, 2, "a 429, then the retry that got the code: %v", tries)
			assert.Equal(t, http.StatusTooManyRequests, tries[0].status)
			assert.Equal(t, http.StatusOK, tries[1].status)
			assert.NotEmpty(t, tries[0].key, "the request has an Idempotency-Key")
			assert.Equal(t, tries[0].key, tries[1].key, "its retry reuses it")
			assert.GreaterOrEqual(t, tries[1].at.Sub(tries[0].at), time.Second-50*time.Millisecond, "the retry waited Retry-After: 1")
			assert.Contains(t, run.stderr, "429", "the client says why it waits")
			assert.Contains(t, run.stderr, "with the same Idempotency-Key")
			assert.Equal(t, int32(2), w.runs.Load(), "one task for the holder, one for the client")
		})
	}
}

// Each client example gives up at its deadline when the server keeps
// answering 503 with Retry-After: 1, without sleeping past it, after
// trying with one key.
func TestClientExamples_GiveUpAtTheDeadline(t *testing.T) {
	for _, ex := range clientExamples(t) {
		t.Run(ex.name, func(t *testing.T) {
			rec := newTryRecorder(t, "", nil)
			const deadline = 2500 * time.Millisecond
			start := time.Now()
			run := runExample(ex.cmd(t.Context(), rec.url, deadline))
			took := time.Since(start)
			require.Error(t, run.err, "no code, so the command fails")
			assert.Empty(t, run.stdout)
			assert.Contains(t, run.stderr, "giving up")
			assert.Less(t, took, deadline+time.Second, "the client never sleeps past its deadline")
			tries := rec.list()
			require.Len(t, tries, 3, "tries at 0, 1 and 2 s; a 4th would come after the deadline")
			for _, try := range tries {
				assert.NotEmpty(t, try.key)
				assert.Equal(t, tries[0].key, try.key)
			}
		})
	}
}

// exampleRun is what one run of an example printed, and how it ended.
type exampleRun struct {
	stdout, stderr string
	err            error
}

// runExample runs cmd to its end (or the test's).
func runExample(cmd *exec.Cmd) exampleRun {
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	return exampleRun{stdout: out.String(), stderr: errOut.String(), err: err}
}

// clientTry is one POST /queue as the recorder saw it.
type clientTry struct {
	key    string
	status int
	at     time.Time
}

// tryRecorder stands between a client and the server and notes each
// request's Idempotency-Key and the answer's status, calling on429 (when
// not nil) on each 429. With no server it answers 503 with Retry-After: 1
// itself.
type tryRecorder struct {
	url string

	mu   sync.Mutex
	seen []clientTry
}

func newTryRecorder(t *testing.T, server string, on429 func()) *tryRecorder {
	t.Helper()
	r := &tryRecorder{}
	handler := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.note(clientTry{key: req.Header.Get("Idempotency-Key"), status: http.StatusServiceUnavailable, at: time.Now()})
		w.Header().Set("Content-Type", "application/problem+json")
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"type":"about:blank","title":"Service Unavailable","status":503,"detail":"try again later"}`))
	})
	if server != "" {
		target, err := url.Parse(server)
		require.NoError(t, err)
		proxy := httputil.NewSingleHostReverseProxy(target)
		proxy.ModifyResponse = func(resp *http.Response) error {
			r.note(clientTry{key: resp.Request.Header.Get("Idempotency-Key"), status: resp.StatusCode, at: time.Now()})
			if resp.StatusCode == http.StatusTooManyRequests && on429 != nil {
				on429()
			}
			return nil
		}
		handler = proxy.ServeHTTP
	}
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	r.url = srv.URL
	return r
}

func (r *tryRecorder) note(t clientTry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, t)
}

func (r *tryRecorder) list() []clientTry {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]clientTry(nil), r.seen...)
}
