package serverapp

import (
	"fmt"
	"net"
	"strings"
)

// trustedProxies parses http.trusted_proxies: comma-separated CIDRs, or
// plain IPs meaning just that address.
func trustedProxies(raw string) ([]*net.IPNet, error) {
	var out []*net.IPNet
	for p := range strings.SplitSeq(raw, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if ip := net.ParseIP(p); ip != nil {
			bits := 8 * len(ip.To16())
			if ip.To4() != nil {
				ip, bits = ip.To4(), 32
			}
			out = append(out, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
			continue
		}
		_, n, err := net.ParseCIDR(p)
		if err != nil {
			return nil, fmt.Errorf("http.trusted_proxies: %w", err)
		}
		out = append(out, n)
	}
	return out, nil
}
