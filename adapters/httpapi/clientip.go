package httpapi

import (
	"net"
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"
)

// ipExtractor decides where a request's client address comes from. Echo v4's
// default reads X-Forwarded-For and X-Real-IP from anyone (GO-2026-6872,
// GO-2026-6875, fixed only in echo v5), so a client could claim any address.
// Here no header is believed unless the peer is one of trusted: then the
// address is the rightmost one in X-Forwarded-For that is not a trusted proxy.
func ipExtractor(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// fromProxy reports whether a request's peer is one of the trusted
// proxies: their connections carry many clients' requests, so a refusal
// never holds one (package pacing), whatever headers the proxy adds.
func fromProxy(trusted []*net.IPNet) func(*http.Request) bool {
	return func(r *http.Request) bool {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		ip := net.ParseIP(host)
		return ip != nil && slices.ContainsFunc(trusted, func(n *net.IPNet) bool { return n.Contains(ip) })
	}
}

// ClientIP is the client address the API believes for r (what logs and rate
// decisions would use), exposed so the trust rule can be checked.
func (a *API) ClientIP(r *http.Request) string {
	c := a.e.NewContext(r, nil)
	return c.RealIP()
}
