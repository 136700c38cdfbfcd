package redisgate_test

import (
	"testing"

	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/ports"
	"github.com/1000x-rps-server/rps-server/tests/contract"
)

func TestFairShareContract(t *testing.T) {
	url := redisURL(t)
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			contract.TestFairShare(t, func(t *testing.T, capacity int, policy domain.SharePolicy) ports.ConcurrencyGate {
				cfg := m.config(t, url, capacity)
				cfg.Share = policy
				return open(t, cfg)
			})
		})
	}
}
