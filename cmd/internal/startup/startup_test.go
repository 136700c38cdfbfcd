package startup

import (
	"bytes"
	"context"
	"io"
	"net"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/observability"
	"github.com/1000x-rps-server/rps-server/tests/infra"
	"github.com/1000x-rps-server/rps-server/tests/otlptest"
)

// A pod beside a Service named rps-server starts, and says at debug which
// variables it took for Kubernetes' and skipped.
func TestBegin_LogsSkippedServiceLinksAtDebug(t *testing.T) {
	before := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(before) })
	links := []string{"RPS_SERVER_SERVICE_HOST=10.96.12.34", "RPS_SERVER_PORT=tcp://10.96.12.34:8000"}
	for level, logged := range map[string]bool{"debug": true, "info": false} {
		t.Run(level, func(t *testing.T) {
			var out bytes.Buffer
			environ := append([]string{"RPS_LOG__LEVEL=" + level, "RPS_LOG__FORMAT=json", "GOGC=100", "GOMEMLIMIT=off"}, links...)
			p, err := Begin(context.Background(), observability.BuildInfo{Binary: "server"}, nil, environ, &out)
			require.NoError(t, err)
			p.Close()
			const line = `"names":["RPS_SERVER_PORT","RPS_SERVER_SERVICE_HOST"]`
			if logged {
				assert.Contains(t, out.String(), line)
			} else {
				assert.NotContains(t, out.String(), "service-link")
			}
		})
	}
}

// debug.pprof_addr naming the binary's admin listener puts the profiler
// there (the binary opens it): Begin leaves the address free. Any other
// address gets a listener of the profiler's own.
func TestBegin_PProfOnTheAdminListenerWhenItNamesIt(t *testing.T) {
	before := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(before) })
	for binary, adminVar := range map[string]string{"server": "RPS_HTTP__ADMIN_ADDR", "worker": "RPS_WORKER__ADMIN_ADDR"} {
		t.Run(binary, func(t *testing.T) {
			admin, other := infra.FreeAddr(t), infra.FreeAddr(t)
			// The worker's config names Kafka (its rule); Begin connects to nothing.
			base := []string{"RPS_LOG__FORMAT=json", "GOGC=100", "GOMEMLIMIT=off", adminVar + "=" + admin, "KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9"}

			p, err := Begin(context.Background(), observability.BuildInfo{Binary: binary}, nil, append(base, "RPS_DEBUG__PPROF_ADDR="+admin), io.Discard)
			require.NoError(t, err)
			assert.True(t, p.PProfOnAdmin)
			ln, err := net.Listen("tcp", admin)
			require.NoError(t, err, "Begin opened nothing at the admin address")
			require.NoError(t, ln.Close())
			p.Close()

			p, err = Begin(context.Background(), observability.BuildInfo{Binary: binary}, nil, append(base, "RPS_DEBUG__PPROF_ADDR="+other), io.Discard)
			require.NoError(t, err)
			t.Cleanup(p.Close)
			assert.False(t, p.PProfOnAdmin)
			_, err = net.Listen("tcp", other)
			require.Error(t, err, "the profiler listens on its own address")
		})
	}
}

// Tracing follows the config (here an RPS_ variable, which the exporters
// cannot see themselves) and OpenTelemetry's variables, names the binary,
// and its last spans are flushed by Close.
func TestBegin_TracesAsConfigured(t *testing.T) {
	recv := &otlptest.Receiver{}
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "service.namespace=gifts")
	var out bytes.Buffer
	environ := []string{"RPS_TRACING__ENDPOINT=" + otlptest.StartHTTP(t, recv), "RPS_LOG__FORMAT=json", "GOGC=100", "GOMEMLIMIT=off", "KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9"}
	p, err := Begin(context.Background(), observability.BuildInfo{Binary: "worker", Version: "v1.2.3"}, nil, environ, &out)
	require.NoError(t, err)
	require.True(t, p.Tracing.On())
	assert.Contains(t, out.String(), `"tracing":{"on":true,"exporter":"otlp http/protobuf","service":"rps-worker"`)

	ctx, span := p.Tracing.Tracer("test").Start(context.Background(), "work")
	p.Log.InfoContext(ctx, "traced")
	span.End()
	p.Close()
	assert.Contains(t, out.String(), `"trace_id":"`+span.SpanContext().TraceID().String()+`"`, "log lines name their trace when tracing is on")
	spans := recv.Spans()
	require.Len(t, spans, 1)
	assert.Equal(t, "rps-worker", spans[0].Service)
	assert.Equal(t, "v1.2.3", spans[0].Resource["service.version"])
	assert.Equal(t, "gifts", spans[0].Resource["service.namespace"])
}
