package e2e_test

import (
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/tests/otlptest"
)

// One POST /queue through the real binaries yields one trace, across both
// services, with every segment in its parent's place. The server exports
// over OTLP/HTTP, the worker over gRPC, both as OpenTelemetry's variables
// say.
func TestTracing_OneRequestIsOneTraceAcrossServerAndWorker(t *testing.T) {
	in := needInfra(t)
	recv := &otlptest.Receiver{}
	s := newStack(t, in, "RPS_TRACING__SAMPLE_RATIO=1", "OTEL_RESOURCE_ATTRIBUTES=deployment.environment.name=e2e")
	worker := s.startWorker(t, "OTEL_EXPORTER_OTLP_PROTOCOL=grpc", "OTEL_EXPORTER_OTLP_ENDPOINT="+otlptest.StartGRPC(t, recv))
	base := s.startServer(t, "OTEL_EXPORTER_OTLP_ENDPOINT="+otlptest.StartHTTP(t, recv))
	server := s.servers[0]

	const callerTrace, callerSpan = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
	req, err := http.NewRequest(http.MethodPost, base+"/queue", nil)
	require.NoError(t, err)
	req.Header.Set("traceparent", "00-"+callerTrace+"-"+callerSpan+"-01")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, callerTrace, resp.Header.Get("X-Trace-Id"), "the response names the trace")

	// Stopping both flushes their exporters: every span is in by then.
	server.stop(t, 30*time.Second)
	worker.stop(t, 30*time.Second)
	spans := recv.Spans()

	byName := map[string]otlptest.Span{}
	for _, sp := range spans {
		assert.Equal(t, callerTrace, hex.EncodeToString(sp.GetTraceId()), "%s (%s) is in another trace: probes and polls must not trace", sp.GetName(), sp.Service)
		assert.Equal(t, "e2e", sp.Resource["deployment.environment.name"], "%s: OTEL_RESOURCE_ATTRIBUTES", sp.GetName())
		_, dup := byName[sp.GetName()]
		assert.False(t, dup, "span %q twice", sp.GetName())
		byName[sp.GetName()] = sp
	}
	t.Logf("trace %s:\n%s", callerTrace, traceTree(spans))

	replyTopic := ""
	for name := range byName {
		if strings.HasPrefix(name, "receive ") {
			replyTopic = strings.TrimPrefix(name, "receive ")
		}
	}
	tasks := strings.TrimPrefix(s.env[2], "TASKS_TOPIC=")
	// name → (service, parent's name); "" is the caller's span.
	want := map[string][2]string{
		"POST /queue":           {"rps-server", ""},
		"gate.acquire":          {"rps-server", "POST /queue"},
		"send " + tasks:         {"rps-server", "POST /queue"},
		"reply wait":            {"rps-server", "POST /queue"},
		"gate.release":          {"rps-server", "POST /queue"},
		tasks + " queue wait":   {"rps-worker", "send " + tasks},
		"process " + tasks:      {"rps-worker", "send " + tasks},
		"handle get_gift_code":  {"rps-worker", "process " + tasks},
		"ledger.record":         {"rps-worker", "process " + tasks},
		"send " + replyTopic:    {"rps-worker", "process " + tasks},
		"receive " + replyTopic: {"rps-server", "send " + replyTopic},
	}
	require.Len(t, byName, len(want), "spans: %v", names(spans))
	for name, w := range want {
		sp, ok := byName[name]
		if !assert.True(t, ok, "no span %q; got %v", name, names(spans)) {
			continue
		}
		assert.Equal(t, w[0], sp.Service, "%s runs in %s", name, w[0])
		parent := hex.EncodeToString(sp.GetParentSpanId())
		if w[1] == "" {
			assert.Equal(t, callerSpan, parent, "%s continues the caller's span", name)
			continue
		}
		assert.Equal(t, hex.EncodeToString(byName[w[1]].GetSpanId()), parent, "%s is a child of %s", name, w[1])
	}

	// The segments follow one another in time as the request did.
	at := func(name string) (uint64, uint64) {
		return byName[name].GetStartTimeUnixNano(), byName[name].GetEndTimeUnixNano()
	}
	_, acquired := at("gate.acquire")
	sent, _ := at("send " + tasks)
	_, waited := at(tasks + " queue wait")
	processing, processed := at("process " + tasks)
	_, arrived := at("receive " + replyTopic)
	released, _ := at("gate.release")
	_, replied := at("reply wait")
	assert.LessOrEqual(t, acquired, sent, "acquire, then send")
	assert.LessOrEqual(t, waited, processing, "the queue wait ends as processing starts")
	assert.LessOrEqual(t, processing, processed)
	assert.LessOrEqual(t, arrived, replied+uint64(time.Millisecond), "the reply arrives, then the wait ends")
	assert.LessOrEqual(t, replied, released, "release comes last")
}

func names(spans []otlptest.Span) []string {
	out := make([]string, 0, len(spans))
	for _, s := range spans {
		out = append(out, s.Service+":"+s.GetName())
	}
	slices.Sort(out)
	return out
}

// traceTree prints spans as an indented tree with their offsets from the
// trace's start and their durations, children in start order.
func traceTree(spans []otlptest.Span) string {
	children := map[string][]otlptest.Span{}
	ids := map[string]bool{}
	var start uint64
	for _, s := range spans {
		ids[hex.EncodeToString(s.GetSpanId())] = true
		if start == 0 || s.GetStartTimeUnixNano() < start {
			start = s.GetStartTimeUnixNano()
		}
	}
	var roots []otlptest.Span
	for _, s := range spans {
		p := hex.EncodeToString(s.GetParentSpanId())
		if ids[p] {
			children[p] = append(children[p], s)
		} else {
			roots = append(roots, s)
		}
	}
	var b strings.Builder
	var walk func(s otlptest.Span, depth int)
	walk = func(s otlptest.Span, depth int) {
		d := time.Duration(s.GetEndTimeUnixNano() - s.GetStartTimeUnixNano())
		off := time.Duration(s.GetStartTimeUnixNano() - start)
		fmt.Fprintf(&b, "%-52s %-10s +%-9s %s\n", strings.Repeat("  ", depth)+s.GetName(), s.Service,
			off.Round(10*time.Microsecond), d.Round(10*time.Microsecond))
		kids := children[hex.EncodeToString(s.GetSpanId())]
		slices.SortFunc(kids, func(a, b otlptest.Span) int {
			return int(int64(a.GetStartTimeUnixNano()) - int64(b.GetStartTimeUnixNano()))
		})
		for _, k := range kids {
			walk(k, depth+1)
		}
	}
	for _, r := range roots {
		walk(r, 0)
	}
	return b.String()
}
