package scenario_test

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/scenario"
)

func TestParseWeights(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		want    string // the mix rendered back; "" means an error
		wantErr bool
	}{
		{name: "original_mix", in: "queue=3,root=1", want: "queue=3,root=1"},
		{name: "spaces_and_order", in: " root = 1 , queue=3 ", want: "root=1,queue=3"},
		{name: "queue_only", in: "queue=1", want: "queue=1"},
		{name: "zero_weight_left_out", in: "queue=1,root=0", want: "queue=1"},
		{name: "trailing_comma", in: "queue=2,", want: "queue=2"},
		{name: "unknown_route", in: "queue=3,login=1", wantErr: true},
		{name: "missing_equals", in: "queue", wantErr: true},
		{name: "negative", in: "queue=-1", wantErr: true},
		{name: "not_a_number", in: "queue=x", wantErr: true},
		{name: "fraction", in: "queue=1.5", wantErr: true},
		{name: "duplicate", in: "queue=1,queue=2", wantErr: true},
		{name: "all_zero", in: "queue=0,root=0", wantErr: true},
		{name: "empty", in: "", wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := scenario.ParseWeights(tc.in)
			if tc.wantErr {
				require.ErrorIs(t, err, scenario.ErrBadWeights)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, m.String())
		})
	}
}

func TestPickFollowsWeights(t *testing.T) {
	m, err := scenario.ParseWeights("queue=3,root=1")
	require.NoError(t, err)
	r := rand.New(rand.NewPCG(1, 2))
	counts := make([]int, len(m.Routes()))
	const n = 40000
	for range n {
		counts[m.Pick(r)]++
	}
	require.InDelta(t, 0.75, float64(counts[0])/n, 0.02)
	require.InDelta(t, 0.25, float64(counts[1])/n, 0.02)
	require.Equal(t, "/queue", m.Routes()[0].Name())
	require.True(t, m.Routes()[0].WantGiftCode)
	require.False(t, m.Routes()[1].WantGiftCode)
}
