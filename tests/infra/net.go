package infra

import (
	"context"
	"net"
	"testing"

	"github.com/stretchr/testify/require"
)

// FreeAddr is a loopback host:port that nothing listens on at the moment:
// for a process the test starts, or as an address that refuses connections.
func FreeAddr(t testing.TB) string {
	t.Helper()
	addr, err := freeAddr()
	require.NoError(t, err)
	return addr
}

func freeAddr() (string, error) {
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}
