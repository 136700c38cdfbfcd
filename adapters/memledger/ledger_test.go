package memledger_test

import (
	"testing"
	"time"

	"github.com/1000x-rps-server/rps-server/adapters/memledger"
	"github.com/1000x-rps-server/rps-server/ports"
	"github.com/1000x-rps-server/rps-server/tests/contract"
)

func TestContract(t *testing.T) {
	contract.TestLedger(t, func(_ *testing.T, window, keyedTTL time.Duration) ports.IssuanceLedger {
		return memledger.NewWindowed(window, keyedTTL)
	})
}
