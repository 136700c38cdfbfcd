package observability_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/observability"
)

func counter(name string) prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: name})
}

func TestRegisterAll_RegistersEveryCollector(t *testing.T) {
	reg := prometheus.NewRegistry()
	require.NoError(t, observability.RegisterAll(reg, counter("a_total"), counter("b_total")))
	families, err := reg.Gather()
	require.NoError(t, err)
	names := make([]string, 0, len(families))
	for _, f := range families {
		names = append(names, f.GetName())
	}
	assert.ElementsMatch(t, []string{"a_total", "b_total"}, names)
}

// A failure part-way leaves the registry as it was, so the same
// constructor can run again on it (a retried start, a second instance).
func TestRegisterAll_IsAllOrNothing(t *testing.T) {
	reg := prometheus.NewRegistry()
	taken := counter("taken_total")
	require.NoError(t, reg.Register(taken))

	err := observability.RegisterAll(reg, counter("a_total"), counter("b_total"), counter("taken_total"), counter("c_total"))
	var dup prometheus.AlreadyRegisteredError
	require.ErrorAs(t, err, &dup, "the registry's error is kept")
	assert.ErrorContains(t, err, "register metrics")

	families, err := reg.Gather()
	require.NoError(t, err)
	require.Len(t, families, 1, "only what was there before")
	assert.Equal(t, "taken_total", families[0].GetName())

	reg.Unregister(taken)
	require.NoError(t, observability.RegisterAll(reg, counter("a_total"), counter("b_total"), counter("taken_total")),
		"the same collectors register once the clash is gone")
}
