// Package results gathers the results of several bench runs (their
// summary.json files) into one Markdown section: the date, the machine and
// the command, a table with one row per run, and each sweep's steps and
// knee. It can also splice that section into a README between two marker
// lines, leaving the rest of the file as it was.
package results

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/load"
	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/report"
	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/stats"
)

// Command is the command whose last step writes the section.
const Command = "go tool task bench"

// FileName is the file of a run that Read reads, in <out>/<label>/.
const FileName = "summary.json"

// Read reads <out>/<label>/summary.json for every label, in order. Every
// file that is missing or unreadable is named in the error.
func Read(out string, labels []string) ([]report.Record, error) {
	if len(labels) == 0 {
		return nil, errors.New("no run to summarize")
	}
	runs := make([]report.Record, 0, len(labels))
	var errs []error
	for _, label := range labels {
		s, err := readOne(filepath.Join(out, label, FileName))
		if err != nil {
			errs = append(errs, fmt.Errorf("run %s: %w", label, err))
			continue
		}
		if s.Label == "" {
			s.Label = label
		}
		runs = append(runs, s)
	}
	return runs, errors.Join(errs...)
}

func readOne(path string) (report.Record, error) {
	var s report.Record
	raw, err := os.ReadFile(path)
	if err != nil {
		return s, err // an *os.PathError: it names the file
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return s, fmt.Errorf("%s: %w", path, err)
	}
	if s.Started.IsZero() {
		return s, fmt.Errorf("%s: not a bench summary (no start time)", path)
	}
	return s, nil
}

// Markdown renders the section for runs (in the order given). It ends with
// a newline and depends only on runs, so the same runs give the same text.
func Markdown(runs []report.Record) string {
	var b strings.Builder
	if len(runs) == 0 {
		return "No runs.\n"
	}
	m := runs[0].Machine
	fmt.Fprintf(&b, "Runs of %s, on %s (this section is written by `bench -summarize`, the last step of `%s`).",
		when(runs), machineText(m), Command)
	for _, r := range runs[1:] {
		if r.Machine != m {
			fmt.Fprintf(&b, " (`%s` ran elsewhere: %s.)", r.Label, machineText(r.Machine))
		}
	}
	b.WriteString("\n\n")
	b.WriteString("Latency in ms over every answer of the route (429s included), rates over the measured window; " +
		"429s, 5xx and network errors count every route.\n\n")

	b.WriteString("| run | `/queue` req/s | `/queue` p50 / p90 / p99 / max | `GET /` req/s | `GET /` p50 / p99 | all req/s | 429s | 5xx | network errors | duplicate codes |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range runs {
		writeRow(&b, r)
	}
	for _, r := range runs {
		c := r.Checks
		if !c.Pass {
			fmt.Fprintf(&b, "\n**`%s` failed the checks**: %s missing codes, %s malformed codes, %s duplicate codes.\n",
				r.Label, count(c.MissingCodes), count(c.BadCodes), count(c.Duplicates))
		}
	}
	for _, r := range runs {
		if r.Sweep != nil {
			writeSweep(&b, r)
		}
	}
	return b.String()
}

// when names the date (UTC) from the first start to the last finish.
func when(runs []report.Record) string {
	from, to := runs[0].Started.UTC(), time.Time{}
	for _, r := range runs {
		end := r.Finished
		if end.IsZero() {
			end = r.Started
		}
		if r.Started.Before(from) {
			from = r.Started.UTC()
		}
		if end.After(to) {
			to = end.UTC()
		}
	}
	const day, clock = "2 Jan 2006", "15:04"
	if from.Format(day) == to.Format(day) {
		return from.Format(day) + ", " + from.Format(clock) + "–" + to.Format(clock) + " UTC"
	}
	return from.Format(day+" "+clock) + " – " + to.Format(day+" "+clock) + " UTC"
}

func machineText(m report.Machine) string {
	cores := strconv.Itoa(m.CPUs) + " cores"
	if m.CPUs == 1 {
		cores = "1 core"
	}
	model := m.CPUModel
	if model == "" {
		model = "unknown"
	}
	return fmt.Sprintf("%s (CPU model `%s`), %s/%s, %s", cores, model, m.OS, m.Arch, m.GoVersion)
}

func writeRow(b *strings.Builder, r report.Record) {
	queue, hasQueue := r.Stats.Route("/queue") // POST, the only method the bench sends there
	root, hasRoot := r.Stats.Route("/")        // GET
	agg := r.Stats.Aggregated
	cells := []string{"`" + r.Label + "`: " + describe(r)}
	if hasQueue {
		l := queue.Latency
		cells = append(cells, rate(queue.RPS), ms(l.P50Ms)+" / "+ms(l.P90Ms)+" / "+ms(l.P99Ms)+" / "+ms(l.MaxMs))
	} else {
		cells = append(cells, "–", "–")
	}
	if hasRoot {
		cells = append(cells, rate(root.RPS), ms(root.Latency.P50Ms)+" / "+ms(root.Latency.P99Ms))
	} else {
		cells = append(cells, "–", "–")
	}
	n := agg.Count(stats.Limited)
	limited := count(n)
	if n > 0 {
		limited += " of " + count(agg.Requests)
	}
	cells = append(cells, rate(agg.RPS), limited, count(agg.Count(stats.ServerError)),
		count(agg.Count(stats.NetError)), count(r.Checks.Duplicates))
	writeCells(b, cells)
}

// describe tells a run's load from its settings: users, think time and
// duration, e.g. "10 users, think 0.1–0.5 s, 30 s".
func describe(r report.Record) string {
	set := r.Settings
	var parts []string
	switch r.Mode {
	case "open":
		parts = append(parts, "open model")
		if r := set["rate"]; r != "" {
			parts = append(parts, numText(r)+" req/s")
		}
	case "sweep":
		parts = append(parts, sweepStep(r.Sweep))
		parts = append(parts, think(set))
	default:
		if u := set["users"]; u != "" {
			parts = append(parts, numText(u)+" users")
		}
		parts = append(parts, think(set))
	}
	if d := durText(set["duration"]); d != "" {
		if r.Mode == "sweep" {
			d += " per step"
		}
		parts = append(parts, d)
	}
	if r.StopReason != "" && r.StopReason != load.StopDuration {
		parts = append(parts, fmt.Sprintf("stopped by %s after %s s", r.StopReason, oneDecimal(r.MeasuredS)))
	}
	return strings.Join(nonEmpty(parts), ", ")
}

// sweepStep names the step whose figures a sweep's summary carries.
func sweepStep(sw *load.SweepResult) string {
	switch {
	case sw == nil || len(sw.Steps) == 0:
		return "sweep, no step finished"
	case sw.Knee < 0:
		return fmt.Sprintf("sweep, first step (%d users; no step within the bounds)", sw.Steps[0].Users)
	default:
		return fmt.Sprintf("sweep, knee step (%d users)", sw.KneeUsers())
	}
}

// think is "think 0.1–0.5 s", or "unpaced" without think time.
func think(set map[string]string) string {
	lo, errLo := time.ParseDuration(set["think-min"])
	hi, errHi := time.ParseDuration(set["think-max"])
	switch {
	case errLo != nil || errHi != nil:
		return ""
	case hi == 0:
		return "unpaced"
	case lo == hi:
		return "think " + secText(lo) + " s"
	default:
		return "think " + secText(lo) + "–" + secText(hi) + " s"
	}
}

func durText(s string) string {
	d, err := time.ParseDuration(s)
	if err != nil {
		return ""
	}
	return secText(d) + " s"
}

func secText(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) }

// numText formats a number given as text with thousands separators.
func numText(s string) string {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return s
	}
	if v == math.Trunc(v) {
		return count(int64(v))
	}
	return s
}

func writeSweep(b *strings.Builder, r report.Record) {
	set := r.Settings
	var how []string
	if t := think(set); t != "" {
		how = append(how, t)
	}
	if w, d := durText(set["warmup"]), durText(set["duration"]); w != "" && d != "" {
		how = append(how, w+" warm-up + "+d+" per step")
	}
	bounds := ""
	if p, err := time.ParseDuration(set["max-p99"]); err == nil {
		bounds = "p99 ≤ " + strconv.FormatFloat(float64(p)/float64(time.Millisecond), 'f', -1, 64) + " ms"
	}
	if e, err := strconv.ParseFloat(set["max-errors"], 64); err == nil {
		if bounds != "" {
			bounds += ", "
		}
		bounds += "failures ≤ " + strconv.FormatFloat(100*e, 'f', -1, 64) + " %"
	}
	if bounds != "" {
		how = append(how, "bounds "+bounds)
	}
	fmt.Fprintf(b, "\nSweep `%s`", r.Label)
	if len(how) > 0 {
		fmt.Fprintf(b, " (%s)", strings.Join(how, ", "))
	}
	b.WriteString(", p50 / p99 in ms of the successful requests of all routes:\n\n")
	b.WriteString("| users | req/s | ok/s | 429/s | errors % | p50 | p99 | verdict |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	sw := r.Sweep
	for i, st := range sw.Steps {
		verdict := "within bounds"
		switch {
		case !st.Pass:
			verdict = st.Why
		case i == sw.Knee:
			verdict = "within bounds: **knee**"
		}
		writeCells(b, []string{
			count(int64(st.Users)), rate(st.RPS), rate(st.OKPerSec), rate(st.LimitedPerSec),
			strconv.FormatFloat(100*st.ErrorRate, 'f', 2, 64), ms(st.P50Ms), ms(st.P99Ms), verdict,
		})
	}
	b.WriteString("\n")
	switch {
	case sw.Knee < 0 || len(sw.Steps) == 0:
		b.WriteString("Knee: none, the first step already broke a bound.\n")
	case sw.Broken:
		fmt.Fprintf(b, "Knee: **%d users** (the last step within the bounds).\n", sw.KneeUsers())
	default:
		fmt.Fprintf(b, "Knee: beyond **%d users** (no step broke a bound).\n", sw.KneeUsers())
	}
}

func writeCells(b *strings.Builder, cells []string) {
	b.WriteString("|")
	for _, c := range cells {
		b.WriteString(" " + strings.ReplaceAll(c, "|", `\|`) + " |")
	}
	b.WriteString("\n")
}

func nonEmpty(ss []string) []string {
	out := ss[:0]
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// rate formats requests per second as the README's tables do: one decimal
// below 100, whole numbers with thousands separators from 100 on, 0 as 0.
func rate(v float64) string {
	if v == 0 {
		return "0"
	}
	if math.Abs(v) < 99.95 {
		return oneDecimal(v)
	}
	return count(int64(math.Round(v)))
}

// ms formats milliseconds with one decimal (and thousands separators).
func ms(v float64) string { return oneDecimal(v) }

// english formats numbers the way the README's tables are written:
// thousands separated by commas.
func english() *message.Printer { return message.NewPrinter(language.English) }

func oneDecimal(v float64) string { return english().Sprintf("%.1f", v) }

// count formats an integer with thousands separators: 147,082.
func count(n int64) string { return english().Sprintf("%d", n) }
