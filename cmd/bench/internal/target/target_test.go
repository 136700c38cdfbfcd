package target_test

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/target"
)

// fakeResolver answers from a fixed table and never touches the network.
type fakeResolver map[string][]string

func (f fakeResolver) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	ips, ok := f[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	out := make([]net.IPAddr, 0, len(ips))
	for _, ip := range ips {
		out = append(out, net.IPAddr{IP: net.ParseIP(ip)})
	}
	return out, nil
}

func TestCheck(t *testing.T) {
	r := fakeResolver{
		"localhost":     {"127.0.0.1", "::1"},
		"mixed.example": {"127.0.0.1", "192.0.2.10"},
		"far.example":   {"203.0.113.7"},
	}
	cases := []struct {
		name        string
		url         string
		allowRemote bool
		wantErr     error
		wantAny     bool // any error (not a remote refusal)
	}{
		{name: "ipv4_loopback", url: "http://127.0.0.1:8000"},
		{name: "other_127_address", url: "http://127.5.6.7:8000/"},
		{name: "ipv6_loopback", url: "http://[::1]:8000"},
		{name: "localhost_name", url: "http://localhost:8000"},
		{name: "private_address_refused", url: "http://10.0.0.5:8000", wantErr: target.ErrRemoteHost},
		{name: "public_address_refused", url: "https://203.0.113.7", wantErr: target.ErrRemoteHost},
		{name: "unspecified_address_refused", url: "http://0.0.0.0:8000", wantErr: target.ErrRemoteHost},
		{name: "name_resolving_remote_refused", url: "http://far.example", wantErr: target.ErrRemoteHost},
		{name: "name_with_one_remote_address_refused", url: "http://mixed.example", wantErr: target.ErrRemoteHost},
		{name: "remote_allowed_by_flag", url: "http://far.example", allowRemote: true},
		{name: "unknown_name", url: "http://nowhere.example", wantAny: true},
		{name: "bad_scheme", url: "ftp://127.0.0.1", wantAny: true},
		{name: "no_host", url: "http:///queue", wantAny: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u, err := target.Check(context.Background(), tc.url, tc.allowRemote, r)
			switch {
			case tc.wantErr != nil:
				require.ErrorIs(t, err, tc.wantErr)
			case tc.wantAny:
				require.Error(t, err)
				require.NotErrorIs(t, err, target.ErrRemoteHost)
			default:
				require.NoError(t, err)
				require.False(t, strings.HasSuffix(u.Path, "/"), "trailing slash trimmed")
			}
		})
	}
}

func TestGuardDial(t *testing.T) {
	r := fakeResolver{"localhost": {"127.0.0.1"}, "far.example": {"203.0.113.7"}}
	var dialled []string
	dial := func(_ context.Context, _, addr string) (net.Conn, error) {
		dialled = append(dialled, addr)
		c1, c2 := net.Pipe()
		_ = c2.Close()
		return c1, nil
	}
	guarded := target.GuardDial(dial, false, r)

	conn, err := guarded(context.Background(), "tcp", "localhost:8000")
	require.NoError(t, err)
	_ = conn.Close()
	_, err = guarded(context.Background(), "tcp", "far.example:80")
	require.ErrorIs(t, err, target.ErrRemoteHost)
	_, err = guarded(context.Background(), "tcp", "192.168.1.1:80")
	require.ErrorIs(t, err, target.ErrRemoteHost)
	require.Equal(t, []string{"127.0.0.1:8000"}, dialled, "only the loopback address is dialled")

	open := target.GuardDial(dial, true, r)
	conn, err = open(context.Background(), "tcp", "far.example:80")
	require.NoError(t, err)
	_ = conn.Close()
}
