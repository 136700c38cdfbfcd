package report

import (
	"html/template"
	"math"
	"strconv"
	"time"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"

	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/load"
	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/stats"
)

// chart is one rendered chart: its element and its script.
type chart struct {
	Element template.HTML
	Script  template.HTML
}

func render(l *charts.Line) chart {
	s := l.RenderSnippet()
	return chart{Element: template.HTML(s.Element), Script: template.HTML(s.Script)} // go-echarts escapes the figures it renders
}

// newLine is a line chart with the report's common options.
func newLine(id, title, xName, yName string) *charts.Line {
	l := charts.NewLine()
	l.SetGlobalOptions(
		charts.WithInitializationOpts(opts.Initialization{ChartID: id, Width: "100%", Height: "360px"}),
		charts.WithTitleOpts(opts.Title{Title: title}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Top: "46px"}),
		charts.WithGridOpts(opts.Grid{Top: "90px", Left: "70px", Right: "40px", Bottom: "60px"}),
		charts.WithXAxisOpts(opts.XAxis{Name: xName, NameLocation: "middle", NameGap: 28}),
		charts.WithYAxisOpts(opts.YAxis{Name: yName}),
		charts.WithDataZoomOpts(opts.DataZoom{Type: "inside"}),
		charts.WithAnimation(false),
	)
	return l
}

func series(values []float64) []opts.LineData {
	out := make([]opts.LineData, len(values))
	for i, v := range values {
		out[i] = opts.LineData{Value: v}
	}
	return out
}

var lineOpts = charts.WithLineChartOpts(opts.LineChart{ShowSymbol: opts.Bool(false)})

// secondsLabel names an instant on the time axis: whole seconds, or tenths
// for the last, shorter interval of a run.
func secondsLabel(d time.Duration) string {
	s := d.Seconds()
	if math.Abs(s-math.Round(s)) < 0.05 {
		return strconv.FormatFloat(s, 'f', 0, 64)
	}
	return strconv.FormatFloat(s, 'f', 1, 64)
}

// warmupNote tells where the warm-up is on the time axis.
func warmupNote(history []stats.Tick, sweep bool) string {
	if sweep {
		return "each step starts with a warm-up, left out of its figures; the users chart shows the steps"
	}
	var end time.Duration
	for _, t := range history {
		if t.Phase == stats.PhaseWarmup {
			end = t.Elapsed
		}
	}
	if end == 0 {
		return "no warm-up"
	}
	return "warm-up until " + secondsLabel(end) + " s, left out of the figures"
}

// historyCharts draws throughput, latency percentiles and users over time.
func historyCharts(history []stats.Tick, sweep bool) []chart {
	if len(history) == 0 {
		return nil
	}
	x := make([]string, len(history))
	var rps, ok, limited, failed, p50, p90, p99, p999, pmax, users []float64
	perRoute := map[string][]float64{}
	var routeNames []string
	for i, t := range history {
		x[i] = secondsLabel(t.Elapsed)
		a := t.Aggregated()
		rps, ok, limited, failed = append(rps, a.RPS), append(ok, a.OKPerSec), append(limited, a.LimitedPerSec), append(failed, a.FailPerSec)
		p50, p90, p99, p999, pmax = append(p50, a.P50Ms), append(p90, a.P90Ms), append(p99, a.P99Ms), append(p999, a.P999Ms), append(pmax, a.MaxMs)
		users = append(users, float64(t.Users))
		for _, r := range t.Rows[:len(t.Rows)-1] {
			name := r.Method + " " + r.Name + " req/s"
			if _, seen := perRoute[name]; !seen {
				routeNames = append(routeNames, name)
			}
			perRoute[name] = append(perRoute[name], r.RPS)
		}
	}

	tp := newLine("throughput", "Throughput", "elapsed (s)", "req/s")
	tp.SetGlobalOptions(charts.WithTitleOpts(opts.Title{Title: "Throughput", Subtitle: warmupNote(history, sweep)}))
	tp.SetXAxis(x).
		AddSeries("all req/s", series(rps)).
		AddSeries("ok/s", series(ok)).
		AddSeries("429/s", series(limited)).
		AddSeries("failures/s", series(failed))
	for _, name := range routeNames {
		tp.AddSeries(name, series(perRoute[name]))
	}
	tp.SetSeriesOptions(lineOpts)

	lat := newLine("latency", "Latency percentiles (all routes, per second)", "elapsed (s)", "ms")
	lat.SetGlobalOptions(charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Top: "46px", Selected: map[string]bool{"max": false}}))
	lat.SetXAxis(x).
		AddSeries("p50", series(p50)).
		AddSeries("p90", series(p90)).
		AddSeries("p99", series(p99)).
		AddSeries("p99.9", series(p999)).
		AddSeries("max", series(pmax)).
		SetSeriesOptions(lineOpts)

	us := newLine("users", "Users running (requests in flight in the open model)", "elapsed (s)", "users")
	us.SetXAxis(x).AddSeries("users", series(users)).SetSeriesOptions(lineOpts)

	return []chart{render(tp), render(lat), render(us)}
}

// sweepCharts draws throughput and p99 per step.
func sweepCharts(sw *load.SweepResult) []chart {
	if sw == nil || len(sw.Steps) == 0 {
		return nil
	}
	x := make([]string, len(sw.Steps))
	var rps, ok, limited, p50, p99 []float64
	for i, s := range sw.Steps {
		x[i] = strconv.Itoa(s.Users)
		rps, ok, limited = append(rps, s.RPS), append(ok, s.OKPerSec), append(limited, s.LimitedPerSec)
		p50, p99 = append(p50, s.P50Ms), append(p99, s.P99Ms)
	}
	tp := newLine("sweep_throughput", "Sweep: throughput per step", "users", "req/s")
	tp.SetXAxis(x).
		AddSeries("all req/s", series(rps)).
		AddSeries("ok/s", series(ok)).
		AddSeries("429/s", series(limited))
	lat := newLine("sweep_latency", "Sweep: latency of successful requests per step", "users", "ms")
	lat.SetXAxis(x).
		AddSeries("p50", series(p50)).
		AddSeries("p99", series(p99))
	return []chart{render(tp), render(lat)}
}
