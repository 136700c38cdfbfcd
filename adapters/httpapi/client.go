package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/netip"

	"github.com/labstack/echo/v4"

	"github.com/1000x-rps-server/rps-server/domain"
)

// Identity says what identifies the client of a request.
type Identity string

// The identities of Clients.By.
const (
	// IdentityNone makes every request anonymous: one client.
	IdentityNone Identity = ""
	// IdentityIP keys a client by its address as RealIP gives it under
	// Config.TrustedProxies; IPv6 addresses by their prefix.
	IdentityIP Identity = "ip"
	// IdentityHeader keys a client by the API key in Clients.Header,
	// hashed: the raw key is never a gate key, a label or a log field.
	IdentityHeader Identity = "header"
)

// keyBytes is how much of an API key's SHA-256 makes its client key (hex):
// 128 bits, as unique as the whole for sharing, half as long in Redis.
const keyBytes = 16

// Clients says who sent each request, for the gate's fair share. The zero
// value makes every request anonymous.
type Clients struct {
	By Identity
	// Header holds the API key (IdentityHeader); a request without it is
	// anonymous.
	Header string
	// IPv6Prefix is the prefix length that makes one IPv6 client
	// (IdentityIP); 0 or 128 keeps whole addresses.
	IPv6Prefix int
	// Classes maps the hex SHA-256 of an API key (IdentityHeader) to its
	// class; other clients are in the default class.
	Classes map[string]string
	// Policy is the gate's share; RateLimit-Policy advertises each class's
	// ceiling and rate on successful answers.
	Policy domain.SharePolicy
}

// clientOf says who sent the request, for the gate's fair share.
func (a *API) clientOf(c echo.Context) domain.Client {
	switch a.cfg.Clients.By {
	case IdentityIP:
		return domain.Client{Key: addrKey(c.RealIP(), a.cfg.Clients.IPv6Prefix)}
	case IdentityHeader:
		v := c.Request().Header[a.keyHeader]
		if len(v) == 0 || v[0] == "" {
			return domain.Client{}
		}
		sum := sha256.Sum256([]byte(v[0]))
		return domain.Client{
			Key:   hex.EncodeToString(sum[:keyBytes]),
			Class: a.cfg.Clients.Classes[hex.EncodeToString(sum[:])],
		}
	}
	return domain.Client{}
}

// addrKey is the client key of an address: an IPv4 address as it is, an
// IPv6 one as its prefix of bits (one host often holds a whole /64, so
// per-address keys would let it be many clients). Not an address: anonymous.
func addrKey(ip string, bits int) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ""
	}
	if addr.Is4() {
		return ip
	}
	if addr.Is4In6() {
		return addr.Unmap().String()
	}
	if bits <= 0 || bits >= 128 {
		return addr.WithZone("").String()
	}
	p, err := addr.WithZone("").Prefix(bits)
	if err != nil {
		return ""
	}
	return p.String()
}

// canonicalHeader is name as net/http stores it, for a map lookup that
// needs no canonicalising per request.
func canonicalHeader(name string) string { return http.CanonicalHeaderKey(name) }
