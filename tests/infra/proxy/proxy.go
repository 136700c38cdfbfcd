// Package proxy puts an in-process toxiproxy between a test's client and a
// server, so the test can cut the connection or slow it down without
// touching the server. It is apart from package infra, which modules
// without toxiproxy (observability/check) also import.
package proxy

import (
	"testing"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/tests/infra"
)

// Start runs a proxy named name in front of upstream on a free loopback
// port, stopped when the test ends. Point the client at its Listen address;
// Stop cuts it off (connections closed, new ones refused), Start lets it
// through again, Toxics adds latency or timeouts.
func Start(t testing.TB, name, upstream string) *toxiproxy.Proxy {
	t.Helper()
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	p := toxiproxy.NewProxy(srv, name, infra.FreeAddr(t), upstream)
	require.NoError(t, p.Start())
	t.Cleanup(p.Stop)
	return p
}
