package memidem_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/adapters/memidem"
	"github.com/1000x-rps-server/rps-server/ports"
	"github.com/1000x-rps-server/rps-server/tests/contract"
)

func TestContract(t *testing.T) {
	contract.TestIdempotencyStore(t, func(t *testing.T, ttl time.Duration) ports.IdempotencyStore {
		s, err := memidem.New(ttl)
		require.NoError(t, err)
		return s
	})
}

func TestNew_RefusesNonPositiveTTL(t *testing.T) {
	_, err := memidem.New(0)
	require.Error(t, err)
}
