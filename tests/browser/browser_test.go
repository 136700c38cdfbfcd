// Package browser_test opens what users look at in headless Chromium
// (Debian's chromium, driven over the DevTools protocol by chromedp): the
// server's /docs page and the bench's report.html. A script error, a
// request that leaves the page's own origin (the service must work
// offline) or a chart without data fails the test.
package browser_test

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/1000x-rps-server/rps-server/adapters/httpapi"
	"github.com/1000x-rps-server/rps-server/tests/infra"
)

// page is one tab and what the page did: its script errors and the
// requests it made with their statuses.
type page struct {
	ctx context.Context

	mu       sync.Mutex
	errors   []string
	requests map[string]string // URL → request id
	statuses map[string]int64  // request id → status
	failed   []string
}

// openPage starts Chromium and a tab that records what the page does.
func openPage(t *testing.T) *page {
	t.Helper()
	bin := infra.Tool(t, "CHROMIUM_BIN", "chromium", "bash deployments/scripts/chromium.sh install (Debian's chromium)")
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 1000))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	p := &page{ctx: ctx, requests: map[string]string{}, statuses: map[string]int64{}}
	require.NoError(t, chromedp.Listen(ctx, func(ev any) {
		p.mu.Lock()
		defer p.mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			desc := d.Text
			if d.Exception != nil {
				desc += " " + d.Exception.Description
			}
			p.errors = append(p.errors, fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber+1, desc))
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				p.errors = append(p.errors, "console.error: "+strings.Join(args, " "))
			}
		case *network.EventRequestWillBeSent:
			p.requests[ev.Request.URL] = string(ev.RequestID)
		case *network.EventResponseReceived:
			p.statuses[string(ev.RequestID)] = ev.Response.Status
		case *network.EventLoadingFailed:
			p.failed = append(p.failed, fmt.Sprintf("%s: %s", ev.RequestID, ev.ErrorText))
		}
	}), "start Chromium")
	return p
}

// do runs steps in the tab, a minute at most.
func (p *page) do(t *testing.T, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, time.Minute)
	defer cancel()
	require.NoError(t, chromedp.Do(ctx, steps...))
}

// get runs action in the tab, a minute at most, and returns its value.
func get[T any](t *testing.T, p *page, action chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, time.Minute)
	defer cancel()
	v, err := chromedp.Run(ctx, action)
	require.NoError(t, err)
	return v
}

// assertClean checks the page threw nothing, logged no error, and asked
// only origin for what it loaded, all of which loaded.
func (p *page) assertClean(t *testing.T, origin string) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	assert.Empty(t, p.errors, "script errors")
	assert.Empty(t, p.failed, "requests that failed")
	for url, id := range p.requests {
		if strings.HasPrefix(url, "data:") {
			continue
		}
		assert.True(t, strings.HasPrefix(url, origin), "%s is not from %s: the page must work offline", url, origin)
		if status, ok := p.statuses[id]; ok && strings.HasPrefix(url, "http") {
			assert.Equal(t, int64(200), status, url)
		}
	}
}

// status is the HTTP status the page got for url, 0 if it never asked.
func (p *page) status(url string) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.statuses[p.requests[url]]
}

// GET /docs on the real binary renders the contract the server serves:
// its title and every operation, with Swagger UI from the binary itself.
func TestBrowser_DocsPageRendersTheContract(t *testing.T) {
	start := time.Now()
	base := infra.EmbeddedServer(t)
	var spec struct {
		Info  struct{ Title string }
		Paths map[string]map[string]any
	}
	require.NoError(t, yaml.Unmarshal(httpapi.OpenAPI, &spec))
	operations := 0
	for _, item := range spec.Paths {
		for method := range item {
			if slices.Contains([]string{"get", "put", "post", "delete", "patch", "head", "options", "trace"}, method) {
				operations++
			}
		}
	}

	p := openPage(t)
	p.do(t,
		chromedp.Navigate(base+"/docs"),
		chromedp.WaitVisible(`.swagger-ui .info .title`),
		chromedp.WaitVisible(`.swagger-ui .opblock`),
	)
	title := get(t, p, chromedp.Text(`.swagger-ui .info .title`))
	rendered := get(t, p, chromedp.Evaluate[int](`document.querySelectorAll('.swagger-ui .opblock').length`))
	assert.Contains(t, title, spec.Info.Title)
	assert.Equal(t, operations, rendered, "an operation block per operation of openapi.yaml")
	assert.Equal(t, int64(200), p.status(base+"/openapi.yaml"), "the page loaded the served contract")
	p.assertClean(t, base)
	t.Logf("/docs looked at in %s", time.Since(start).Round(time.Millisecond))
}

// report.html of a short bench run against the real binary draws every
// chart, with data, and needs nothing but the file.
func TestBrowser_BenchReportDrawsItsCharts(t *testing.T) {
	start := time.Now()
	base := infra.EmbeddedServer(t)
	dir := t.TempDir()
	bench := filepath.Join(dir, "bench")
	out, err := exec.CommandContext(t.Context(), "go", "build", "-C", "../../cmd/bench", "-o", bench, ".").CombinedOutput()
	require.NoError(t, err, "go build cmd/bench: %s", out)
	out, err = exec.CommandContext(t.Context(), bench, "-url", base, "-out", dir, "-label", "browser",
		"-mode", "sweep", "-steps", "1,2", "-warmup", "200ms", "-duration", "1s", "-max-p99", "1s").CombinedOutput()
	require.NoError(t, err, "bench: %s", out)
	report := "file://" + filepath.Join(dir, "browser", "report.html")

	p := openPage(t)
	// A chart is drawn once ECharts has an instance on its element with a
	// series holding points, and its canvas is not one colour: a blank or
	// missing canvas, or a chart without data, never gets there.
	const drawn = `(() => {
	  const items = [...document.querySelectorAll('.container .item')];
	  return items.map(el => {
	    const chart = window.echarts && echarts.getInstanceByDom(el);
	    const points = chart ? chart.getOption().series.reduce((n, s) => n + (s.data || []).length, 0) : 0;
	    const canvas = el.querySelector('canvas');
	    let colours = 0;
	    if (canvas && canvas.width > 0 && canvas.height > 0) {
	      const px = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
	      const seen = new Set();
	      for (let i = 0; i < px.length && seen.size < 64; i += 4 * 7) seen.add(px[i] << 16 | px[i+1] << 8 | px[i+2]);
	      colours = seen.size;
	    }
	    return {id: el.id, points: points, colours: colours};
	  });
	})()`
	type chartState struct {
		ID      string `json:"id"`
		Points  int    `json:"points"`
		Colours int    `json:"colours"`
	}
	var charts []chartState
	p.do(t, chromedp.Navigate(report), chromedp.WaitReady(`body`))
	require.Eventually(t, func() bool {
		charts = get(t, p, chromedp.Evaluate[[]chartState](drawn))
		for _, c := range charts {
			if c.Points == 0 || c.Colours < 8 {
				return false
			}
		}
		return len(charts) > 0
	}, 20*time.Second, 200*time.Millisecond, "every chart drawn with data")
	assert.Len(t, charts, 5, "the sweep's charts: throughput, latency, users, and per step throughput and latency")
	for _, c := range charts {
		assert.Positive(t, c.Points, c.ID)
		assert.GreaterOrEqual(t, c.Colours, 8, "%s: a drawn chart has axes, labels and lines", c.ID)
	}
	p.assertClean(t, "file://")
	t.Logf("report.html looked at in %s (charts %v)", time.Since(start).Round(time.Millisecond), charts)
}
