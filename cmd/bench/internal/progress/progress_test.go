package progress_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/load"
	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/progress"
	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/stats"
)

func live(elapsed time.Duration) load.Live {
	return load.Live{
		Tick: stats.Tick{Elapsed: elapsed, Phase: stats.PhaseMeasure, Users: 100, Rows: []stats.TickRow{
			{Name: stats.AggregatedName, RPS: 4812.4, P99Ms: 18.25},
		}},
		Totals:  stats.Totals{Requests: 60000, OK: 57000, Limited: 3, Failures: 2},
		Planned: 70 * time.Second,
	}
}

func TestLine(t *testing.T) {
	line := progress.Line(live(12 * time.Second))
	for _, want := range []string{"12s/70", "measure", "users 100", "4812 req/s", "p99    18.2 ms", "ok 57000", "429 3", "errors 2"} {
		require.Contains(t, line, want)
	}
}

func TestPlainLinesAreThrottled(t *testing.T) {
	var buf bytes.Buffer
	p := progress.NewPlain(&buf, time.Hour)
	p.SetPrefix("[step 1/3] ")
	p.Update(live(time.Second))
	p.Update(live(2 * time.Second)) // within the hour: not printed
	p.Printf("done")
	p.Done()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 2)
	require.True(t, strings.HasPrefix(lines[0], "[step 1/3] "))
	require.NotContains(t, buf.String(), "\r", "no terminal control in plain mode")
	require.Equal(t, "done", lines[1])
}
