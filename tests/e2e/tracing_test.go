package e2e_test

import (
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpReceiver is an OTLP/HTTP trace receiver (protobuf), as Jaeger or a
// collector would be, keeping every span it is sent with its service name.
type otlpReceiver struct {
	mu    sync.Mutex
	spans []recvSpan
}

type recvSpan struct {
	service string
	*tracepb.Span
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" {
		http.NotFound(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	var req collectortrace.ExportTraceServiceRequest
	if err == nil {
		err = proto.Unmarshal(body, &req)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	o.mu.Lock()
	for _, rs := range req.GetResourceSpans() {
		service := ""
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.GetKey() == "service.name" {
				service = kv.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				o.spans = append(o.spans, recvSpan{service: service, Span: s})
			}
		}
	}
	o.mu.Unlock()
	out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

func (o *otlpReceiver) received() []recvSpan {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.spans)
}

// One POST /queue through the real binaries yields one trace, across both
// services, with every segment in its parent's place.
func TestTracing_OneRequestIsOneTraceAcrossServerAndWorker(t *testing.T) {
	in := needInfra(t)
	recv := &otlpReceiver{}
	collector := httptest.NewServer(recv)
	defer collector.Close()
	s := newStack(t, in, "OTEL_EXPORTER_OTLP_ENDPOINT="+collector.URL, "RPS_TRACING__SAMPLE_RATIO=1")
	worker := s.startWorker(t)
	base := s.startServer(t)
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
	spans := recv.received()

	byName := map[string]recvSpan{}
	for _, sp := range spans {
		assert.Equal(t, callerTrace, hex.EncodeToString(sp.GetTraceId()), "%s (%s) is in another trace: probes and polls must not trace", sp.GetName(), sp.service)
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
		assert.Equal(t, w[0], sp.service, "%s runs in %s", name, w[0])
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

func names(spans []recvSpan) []string {
	out := make([]string, 0, len(spans))
	for _, s := range spans {
		out = append(out, s.service+":"+s.GetName())
	}
	slices.Sort(out)
	return out
}

// traceTree prints spans as an indented tree with their offsets from the
// trace's start and their durations, children in start order.
func traceTree(spans []recvSpan) string {
	children := map[string][]recvSpan{}
	ids := map[string]bool{}
	var start uint64
	for _, s := range spans {
		ids[hex.EncodeToString(s.GetSpanId())] = true
		if start == 0 || s.GetStartTimeUnixNano() < start {
			start = s.GetStartTimeUnixNano()
		}
	}
	var roots []recvSpan
	for _, s := range spans {
		p := hex.EncodeToString(s.GetParentSpanId())
		if ids[p] {
			children[p] = append(children[p], s)
		} else {
			roots = append(roots, s)
		}
	}
	var b strings.Builder
	var walk func(s recvSpan, depth int)
	walk = func(s recvSpan, depth int) {
		d := time.Duration(s.GetEndTimeUnixNano() - s.GetStartTimeUnixNano())
		off := time.Duration(s.GetStartTimeUnixNano() - start)
		fmt.Fprintf(&b, "%-52s %-10s +%-9s %s\n", strings.Repeat("  ", depth)+s.GetName(), s.service,
			off.Round(10*time.Microsecond), d.Round(10*time.Microsecond))
		kids := children[hex.EncodeToString(s.GetSpanId())]
		slices.SortFunc(kids, func(a, b recvSpan) int { return int(int64(a.GetStartTimeUnixNano()) - int64(b.GetStartTimeUnixNano())) })
		for _, k := range kids {
			walk(k, depth+1)
		}
	}
	for _, r := range roots {
		walk(r, 0)
	}
	return b.String()
}
