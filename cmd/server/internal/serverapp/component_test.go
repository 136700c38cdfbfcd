// Component tests: the application assembled by NewComponentTest, as
// cmd/server assembles it, on each gate and store with a broker double,
// driven over HTTP in-process.
package serverapp_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/1000x-rps-server/rps-server/adapters/membroker"
	"github.com/1000x-rps-server/rps-server/cmd/server/internal/serverapp"
	"github.com/1000x-rps-server/rps-server/configs"
	"github.com/1000x-rps-server/rps-server/ports"
)

// When a Redis client's connection fails (Redis unreachable), rueidis
// schedules a topology refresh that sleeps up to 1 s and then ends, even
// after Close (rueidis singleflight.go, call.DelayDo): bounded and not
// ours, so that one function is ignored, nothing else.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/redis/rueidis.(*call).DelayDo.func1"))
}

// newServer is one server instance assembled as cmd/server does (newAPI),
// behind a test listener.
func newServer(t *testing.T, cfg configs.Config, proc ports.TaskProcessor) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(newAPI(t, cfg, proc))
	t.Cleanup(srv.Close)
	return srv
}

// newAPI is the server's HTTP API assembled as cmd/server does, on the gate
// and store cfg names, with an in-process broker of its own over proc.
func newAPI(t *testing.T, cfg configs.Config, proc ports.TaskProcessor) http.Handler {
	t.Helper()
	broker, err := membroker.New(proc, 1000)
	require.NoError(t, err)
	t.Cleanup(broker.Close)
	return newAPIOn(t, cfg, broker)
}

// newAPIOn is newAPI on a broker of the test's own, which it closes.
func newAPIOn(t *testing.T, cfg configs.Config, broker ports.TaskBroker) http.Handler {
	t.Helper()
	application, err := serverapp.NewComponentTest(context.Background(), cfg, broker, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	require.NoError(t, err)
	t.Cleanup(application.Close)
	return application.API
}
