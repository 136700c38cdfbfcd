// Package target decides which servers the load generator may send traffic
// to. By default only loopback addresses are allowed: the URL's host is checked
// when the run starts, and every connection is checked again when it is dialled,
// so a name that resolves elsewhere later (or a redirect) cannot slip through.
package target

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// ErrRemoteHost is returned for a target that is not on this machine's
// loopback interface while remote targets are not allowed.
var ErrRemoteHost = errors.New("target is not a loopback address (pass -allow-remote to load a remote host)")

// Resolver looks up the addresses of a host name; net.DefaultResolver is one.
type Resolver interface {
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
}

// Check parses raw as an http(s) base URL and, unless allowRemote, refuses it
// when its host is not a loopback address or a name that resolves only to
// loopback addresses. It returns the URL without a trailing slash.
func Check(ctx context.Context, raw string, allowRemote bool, r Resolver) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("url %q: scheme must be http or https", raw)
	}
	host := u.Hostname()
	if host == "" {
		return nil, fmt.Errorf("url %q: no host", raw)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	if allowRemote {
		return u, nil
	}
	if ip := net.ParseIP(host); ip != nil {
		if !ip.IsLoopback() {
			return nil, fmt.Errorf("%s: %w", host, ErrRemoteHost)
		}
		return u, nil
	}
	addrs, err := r.LookupIPAddr(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", host, err)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("resolve %s: no address", host)
	}
	for _, a := range addrs {
		if !a.IP.IsLoopback() {
			return nil, fmt.Errorf("%s resolves to %s: %w", host, a.IP, ErrRemoteHost)
		}
	}
	return u, nil
}

// DialContext is the signature of net.Dialer.DialContext.
type DialContext func(ctx context.Context, network, addr string) (net.Conn, error)

// GuardDial wraps dial so that, unless allowRemote, it connects only to
// loopback addresses: the host is resolved first and every address must be
// loopback, and the connection goes to the resolved address.
func GuardDial(dial DialContext, allowRemote bool, r Resolver) DialContext {
	if allowRemote {
		return dial
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		ip := net.ParseIP(host)
		if ip == nil {
			addrs, err := r.LookupIPAddr(ctx, host)
			if err != nil {
				return nil, err
			}
			if len(addrs) == 0 {
				return nil, fmt.Errorf("resolve %s: no address", host)
			}
			for _, a := range addrs {
				if !a.IP.IsLoopback() {
					return nil, fmt.Errorf("dial %s (%s): %w", host, a.IP, ErrRemoteHost)
				}
			}
			ip = addrs[0].IP
		}
		if !ip.IsLoopback() {
			return nil, fmt.Errorf("dial %s: %w", ip, ErrRemoteHost)
		}
		return dial(ctx, network, net.JoinHostPort(ip.String(), port))
	}
}
