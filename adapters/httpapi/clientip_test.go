package httpapi_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/adapters/httpapi"
)

func TestClientIP_ForwardedHeadersNeedATrustedProxy(t *testing.T) {
	_, proxies, err := net.ParseCIDR("10.0.0.0/8")
	require.NoError(t, err)
	for _, tc := range []struct {
		name    string
		trusted []*net.IPNet
		peer    string
		want    string
	}{
		{"no_proxy_trusted_spoof_ignored", nil, "203.0.113.7:1234", "203.0.113.7"},
		{"loopback_not_trusted_by_default", nil, "127.0.0.1:1234", "127.0.0.1"},
		{"untrusted_peer_spoof_ignored", []*net.IPNet{proxies}, "203.0.113.7:1234", "203.0.113.7"},
		{"trusted_proxy_forwards", []*net.IPNet{proxies}, "10.1.2.3:1234", "198.51.100.9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api, _ := newAPI(t, func(c *httpapi.Config) { c.TrustedProxies = tc.trusted })
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tc.peer
			r.Header.Set(echo.HeaderXForwardedFor, "6.6.6.6, 198.51.100.9")
			r.Header.Set(echo.HeaderXRealIP, "6.6.6.6")
			assert.Equal(t, tc.want, api.ClientIP(r))
		})
	}
}
