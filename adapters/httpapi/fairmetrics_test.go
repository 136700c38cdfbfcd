package httpapi

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeClock is a time that moves only when told.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestTopRefused_RanksLastMinutesMostRefusedClients(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_000_000, 0)}
	top := newTopRefused(clock.now)
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(top))

	// greedy: 90 refused of 100; polite: 5 refused of 20; tiny: refused
	// under the floor of requests; 30 others refused once each, too few.
	for range 90 {
		top.refused("198.51.100.1", "default")
	}
	for range 10 {
		top.admitted("198.51.100.1")
	}
	for range 5 {
		top.refused("k-polite", "partner")
	}
	for range 15 {
		top.admitted("k-polite")
	}
	top.admitted("never-refused")
	for range topMinRequests - 1 {
		top.refused("tiny", "default")
	}
	for i := range 30 {
		top.refused(fmt.Sprintf("one-off-%d", i), "default")
	}
	top.refused("", "default") // anonymous
	for range topMinRequests - 1 {
		top.refused("", "default")
	}

	assert.Equal(t, emptyRanks(1), ranks(t, reg), "nothing before the first minute is over")

	clock.t = clock.t.Add(topWindow)
	want := append([]string{
		`1 client="198.51.100.1" class="default" 0.9`,
		`2 client="anonymous" class="default" 1`,
		`3 client="k-polite" class="partner" 0.25`,
	}, emptyRanks(4)...)
	assert.Equal(t, want, ranks(t, reg))

	clock.t = clock.t.Add(topWindow)
	assert.Equal(t, emptyRanks(1), ranks(t, reg), "a quiet minute clears the view")
}

func TestTopRefused_TracksABoundedNumberOfClients(t *testing.T) {
	top := newTopRefused(time.Now)
	for i := range topTracked + 500 {
		top.refused(fmt.Sprintf("c%d", i), "default")
	}
	n := 0
	top.cur.Load().clients.Range(func(any, any) bool { n++; return true })
	assert.Equal(t, topTracked, n)
}

// ranks gathers the view as "rank client class value" lines, by rank.
func ranks(t *testing.T, reg *prometheus.Registry) []string {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	require.Len(t, mfs, 1)
	out := make([]string, topN)
	for _, m := range mfs[0].GetMetric() {
		l := map[string]string{}
		for _, lp := range m.GetLabel() {
			l[lp.GetName()] = lp.GetValue()
		}
		var rank int
		_, err := fmt.Sscan(l["rank"], &rank)
		require.NoError(t, err)
		out[rank-1] = fmt.Sprintf("%d client=%q class=%q %v", rank, l["client"], l["class"], m.GetGauge().GetValue())
	}
	return out
}

// emptyRanks are the lines of the ranks from first to topN without a client.
func emptyRanks(first int) []string {
	var out []string
	for i := first; i <= topN; i++ {
		out = append(out, fmt.Sprintf(`%d client="" class="" 0`, i))
	}
	return out
}
