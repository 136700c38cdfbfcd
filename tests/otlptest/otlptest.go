// Package otlptest is an OpenTelemetry collector for tests: an OTLP trace
// receiver over HTTP (protobuf) and over gRPC, as Jaeger or a collector
// would be, keeping every span it is sent with its resource's attributes.
package otlptest

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// Span is one received span and the resource it came with.
type Span struct {
	// Service is the resource's service.name.
	Service string
	// Resource holds the resource's string attributes.
	Resource map[string]string
	*tracepb.Span
}

// Receiver keeps the spans sent to it, over either protocol.
type Receiver struct {
	collectortrace.UnimplementedTraceServiceServer

	mu    sync.Mutex
	spans []Span
}

// Spans returns what was received so far, in arrival order.
func (r *Receiver) Spans() []Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.spans)
}

// Export is the gRPC TraceService's one method.
func (r *Receiver) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	r.keep(req)
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

// ServeHTTP answers OTLP/HTTP with protobuf bodies at /v1/traces.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost || req.URL.Path != "/v1/traces" {
		http.NotFound(w, req)
		return
	}
	body, err := io.ReadAll(req.Body)
	var msg collectortrace.ExportTraceServiceRequest
	if err == nil {
		err = proto.Unmarshal(body, &msg)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.keep(&msg)
	out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

func (r *Receiver) keep(req *collectortrace.ExportTraceServiceRequest) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		attrs := map[string]string{}
		for _, kv := range rs.GetResource().GetAttributes() {
			attrs[kv.GetKey()] = kv.GetValue().GetStringValue()
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				r.spans = append(r.spans, Span{Service: attrs["service.name"], Resource: attrs, Span: s})
			}
		}
	}
}

// StartHTTP serves r over OTLP/HTTP on a loopback port until the test ends
// and returns its base URL (what OTEL_EXPORTER_OTLP_ENDPOINT names).
func StartHTTP(t testing.TB, r *Receiver) string {
	t.Helper()
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv.URL
}

// StartGRPC serves r over OTLP/gRPC (plaintext) on a loopback port until
// the test ends and returns its URL, http://127.0.0.1:port.
func StartGRPC(t testing.TB, r *Receiver) string {
	t.Helper()
	lis, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("otlptest: listen: %v", err)
	}
	srv := grpc.NewServer()
	collectortrace.RegisterTraceServiceServer(srv, r)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()
	t.Cleanup(func() {
		srv.Stop()
		if err := <-done; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			t.Errorf("otlptest: serve: %v", err)
		}
	})
	return "http://" + lis.Addr().String()
}
