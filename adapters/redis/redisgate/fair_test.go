package redisgate_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/ports"
	"github.com/1000x-rps-server/rps-server/tests/contract"
	"github.com/1000x-rps-server/rps-server/tests/metricstest"
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

// Refusals are counted by limit and class; a class the policy does not
// name counts as the default one, so no client can add a series.
func TestFairShareMetricsAreBoundedByTheConfig(t *testing.T) {
	url := redisURL(t)
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			cfg := m.config(t, url, 10)
			reg := prometheus.NewRegistry()
			cfg.Registerer = reg
			cfg.Share = domain.SharePolicy{Enabled: true, Classes: map[string]domain.ClassLimits{
				domain.DefaultClass: {Weight: 1, Ceiling: 1}, "capped": {Weight: 1, Ceiling: 1},
			}}
			g := open(t, cfg)
			ctx := context.Background()
			for _, who := range []domain.Client{{Key: "a", Class: "capped"}, {Key: "b", Class: "made-up-" + uuid.NewString()}} {
				_, err := g.Acquire(ctx, uuid.NewString(), who)
				require.NoError(t, err)
				_, err = g.Acquire(ctx, uuid.NewString(), who)
				require.ErrorIs(t, err, domain.ErrAtCapacity)
			}
			families, err := reg.Gather()
			require.NoError(t, err)
			series := map[string]float64{}
			for _, f := range families {
				if f.GetName() != "rps_gate_refusals_total" {
					continue
				}
				for _, s := range f.GetMetric() {
					labels := map[string]string{}
					for _, l := range s.GetLabel() {
						labels[l.GetName()] = l.GetValue()
					}
					series[labels["limit"]+"/"+labels["class"]] = s.GetCounter().GetValue()
				}
			}
			assert.Equal(t, map[string]float64{"client-ceiling/capped": 1, "client-ceiling/default": 1}, series)
			assert.InDelta(t, 2, metricstest.Value(t, reg, "rps_gate_acquires_total", "at_capacity"), 0, "a refusal is still a full gate")
		})
	}
}
