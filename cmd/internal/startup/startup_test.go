package startup

import (
	"bytes"
	"context"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/observability"
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
