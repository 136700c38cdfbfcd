package report

import (
	_ "embed"
	"html/template"
	"io"
	"slices"

	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/stats"
)

// echartsJS is Apache ECharts 5.4.3 (dist/echarts.min.js of the npm package
// echarts@5.4.3, Apache-2.0, see assets/LICENSE-echarts and NOTICE-echarts),
// the version go-echarts v2.6 targets. go-echarts itself only links it from
// a CDN; it is inlined into every report so the report works offline.
//
//go:embed assets/echarts.min.js
var echartsJS string

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"ms":   msText,
	"rate": rateText,
	"pct":  func(v float64) string { return rateText(100 * v) },
}).Parse(pageHTML))

type pageData struct {
	Record
	ECharts template.JS
	Routes  []stats.RouteStats
	Charts  []chart
}

// WriteHTML writes report.html: the summary, the checks, the figures per
// route and the charts, with ECharts inlined (no network needed to view it).
func WriteHTML(w io.Writer, s Record, history []stats.Tick) error {
	d := pageData{
		Record:  s,
		ECharts: template.JS(echartsJS), // the embedded ECharts release, not input
		Routes:  append(slices.Clone(s.Stats.Routes), s.Stats.Aggregated),
	}
	d.Charts = append(historyCharts(history, s.Sweep != nil), sweepCharts(s.Sweep)...)
	return page.Execute(w, d)
}

const pageHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>bench {{.Label}}: {{.Mode}}</title>
<style>
 body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1200px; padding: 0 16px; color: #222; }
 h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px; }
 table { border-collapse: collapse; margin: 8px 0; }
 th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
 th { background: #f3f3f3; } td.l, th.l { text-align: left; }
 .meta td { text-align: left; } .pass { color: #137333; font-weight: bold; } .fail { color: #b3261e; font-weight: bold; }
 .container { margin: 18px 0; } .item { margin: auto; }
 code { background: #f3f3f3; padding: 1px 4px; }
</style>
<script>{{.ECharts}}</script>
</head>
<body>
<h1>bench {{.Label}} — {{.Mode}} model</h1>
<table class="meta">
<tr><td>target</td><td>{{.Target}}</td></tr>
<tr><td>command</td><td><code>{{.Command}}</code></td></tr>
<tr><td>started</td><td>{{.Started.Format "2006-01-02 15:04:05 MST"}}, stopped by {{.StopReason}}; measured {{printf "%.1f" .MeasuredS}} s (warm-up left out); {{.Sent}} requests sent{{if .Dropped}}, {{.Dropped}} dropped (too many in flight){{end}}</td></tr>
<tr><td>machine</td><td>{{.Machine.CPUs}} CPUs, {{.Machine.CPUModel}}, {{.Machine.OS}}/{{.Machine.Arch}}, {{.Machine.GoVersion}}</td></tr>
</table>

<h2>Checks</h2>
<table class="meta">
<tr><td>answers</td><td class="{{if .Checks.Pass}}pass{{else}}fail{{end}}">{{if .Checks.Pass}}pass{{else}}FAIL{{end}}</td></tr>
<tr><td>POST /queue answered 200 with a gift code</td><td>{{.Checks.QueueOK}}</td></tr>
<tr><td>200 without a gift code</td><td>{{.Checks.MissingCodes}}</td></tr>
<tr><td>gift code without the GIFT- prefix</td><td>{{.Checks.BadCodes}}</td></tr>
<tr><td>duplicate gift codes (whole run)</td><td>{{.Checks.Duplicates}} of {{.Checks.Unique}} unique{{range .Checks.Samples}} <code>{{.}}</code>{{end}}</td></tr>
</table>

<h2>Figures{{if .Sweep}} of the knee step{{end}}</h2>
<p>Latency in ms over every request of the measured window. A 429 is the gate refusing at once, not a failure.</p>
<table>
<tr><th class="l">route</th><th>requests</th><th>req/s</th><th>ok/s</th><th>ok</th><th>429</th><th>4xx</th><th>5xx</th><th>network</th><th>bad answer</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th></tr>
{{range .Routes}}<tr><td class="l">{{.Method}} {{.Name}}</td><td>{{.Requests}}</td><td>{{rate .RPS}}</td><td>{{rate .OKPerSec}}</td><td>{{index .Classes "ok"}}</td><td>{{index .Classes "429"}}</td><td>{{index .Classes "4xx"}}</td><td>{{index .Classes "5xx"}}</td><td>{{index .Classes "network_error"}}</td><td>{{index .Classes "bad_answer"}}</td><td>{{ms .Latency.P50Ms}}</td><td>{{ms .Latency.P90Ms}}</td><td>{{ms .Latency.P99Ms}}</td><td>{{ms .Latency.P999Ms}}</td><td>{{ms .Latency.MaxMs}}</td></tr>
{{end}}</table>

{{with .Sweep}}<h2>Sweep</h2>
<p>{{if ge .Knee 0}}Knee: <b>{{(index .Steps .Knee).Users}} users</b>, the last step within the bounds{{if not .Broken}} (no step broke them: the knee is further){{end}}.{{else}}No step stayed within the bounds.{{end}} Stopped by {{.StopReason}}.</p>
<table>
<tr><th>users</th><th>req/s</th><th>ok/s</th><th>429/s</th><th>error rate %</th><th>ok p50</th><th>ok p99</th><th>ok p99.9</th><th class="l">verdict</th></tr>
{{range .Steps}}<tr><td>{{.Users}}</td><td>{{rate .RPS}}</td><td>{{rate .OKPerSec}}</td><td>{{rate .LimitedPerSec}}</td><td>{{pct .ErrorRate}}</td><td>{{ms .P50Ms}}</td><td>{{ms .P99Ms}}</td><td>{{ms .P999Ms}}</td><td class="l">{{if .Pass}}within bounds{{else}}{{.Why}}{{end}}</td></tr>
{{end}}</table>{{end}}

<h2>Charts</h2>
{{range .Charts}}{{.Element}}
{{.Script}}
{{end}}
<p style="color:#777">Charts: Apache ECharts 5.4.3 (Apache-2.0), embedded; drawn with go-echarts.</p>
</body>
</html>
`
