// Package formats checks the shapes a setting's text may take (URLs,
// addresses, lists), so package configs keeps only which key needs which.
package formats

import (
	"net"
	"net/url"
	"strconv"
	"strings"
)

// RedisURL accepts "" (off) and redis:// or rediss:// with a host.
func RedisURL(raw string) bool {
	if raw == "" {
		return true
	}
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "redis" || u.Scheme == "rediss") && u.Hostname() != "" && validPort(u.Port(), true)
}

// HostPorts accepts "" (off) and a comma-separated list of host:port (Kafka
// bootstrap servers, Redis Cluster seeds).
func HostPorts(raw string) bool {
	if raw == "" {
		return true
	}
	for hp := range strings.SplitSeq(raw, ",") {
		host, port, err := net.SplitHostPort(strings.TrimSpace(hp))
		if err != nil || host == "" || !validPort(port, false) {
			return false
		}
	}
	return true
}

// Endpoint accepts "" (off) and an http(s) URL with a host.
func Endpoint(raw string) bool {
	if raw == "" {
		return true
	}
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Hostname() != ""
}

// ListenAddr accepts "" (off) and host:port, where host may be empty
// (every interface) and port 0 (any free port).
func ListenAddr(addr string) bool {
	if addr == "" {
		return true
	}
	_, port, err := net.SplitHostPort(addr)
	return err == nil && (port == "0" || validPort(port, false))
}

// CIDRs accepts "" and a comma-separated list of CIDRs or plain IPs.
func CIDRs(raw string) bool {
	if raw == "" {
		return true
	}
	for p := range strings.SplitSeq(raw, ",") {
		p = strings.TrimSpace(p)
		if _, _, err := net.ParseCIDR(p); err != nil && net.ParseIP(p) == nil {
			return false
		}
	}
	return true
}

// validPort accepts 1 to 65535, and "" when optional.
func validPort(port string, optional bool) bool {
	if port == "" {
		return optional
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 1 && n <= 65535
}

// OneOf reports whether v is one of allowed, ignoring case.
func OneOf(v string, allowed ...string) bool {
	for _, a := range allowed {
		if strings.EqualFold(v, a) {
			return true
		}
	}
	return false
}
