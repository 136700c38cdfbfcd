package fairshare

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// WriteTable writes the share scenario's figures as a Markdown table, the
// form the closing note takes (before and after, side by side).
func WriteTable(w io.Writer, r Result) error {
	g := r.Gate
	worst := r.WorstPolite()
	rows := [][2]string{
		{"polite clients: 200s / requests", fmt.Sprintf("%s (%d / %d)", pct(r.Polite.OKShare()), r.Polite.OK, r.Polite.Requests)},
		{"worst polite client: 200s / requests", fmt.Sprintf("%s (%s: %d / %d)", pct(worst.OKShare()), worst.Source, worst.OK, worst.Requests)},
		{"greedy client: 200/s", fmt.Sprintf("%.1f", r.GreedyOKPerSec())},
		{"greedy client: share of all 200s", pct(r.GreedyShareOfOK())},
		{"greedy client: 200s / requests", fmt.Sprintf("%s (%d / %d)", pct(r.Greedy.OKShare()), r.Greedy.OK, r.Greedy.Requests)},
		{"gate utilisation (mean Σ slots in use ÷ capacity)", fmt.Sprintf("%s (%.1f of %d, %d samples)", pct(g.Utilisation), g.MeanInUse, g.Capacity, g.Samples)},
		{"max in flight (Σ slots in use, instances scraped apart) / capacity", fmt.Sprintf("%d / %d", g.MaxInUse, g.Capacity)},
		{"max slots leased (Σ per instance, scraped apart) / capacity", fmt.Sprintf("%d / %d", g.MaxLeased, g.Capacity)},
	}
	if z := g.ZCard; z != nil {
		v := fmt.Sprintf("%d / %d (mean %.1f, %d samples", z.Max, g.Capacity, z.Mean, z.Samples)
		if z.Errors > 0 {
			v += fmt.Sprintf(", %d errors: %s", z.Errors, z.LastError)
		}
		rows = append(rows, [2]string{"max leases in Redis (ZCARD " + z.Key + ", one instant: the cap) / capacity", v + ")"})
	}
	rows = append(rows,
		[2]string{"429s of the polite clients, by problem type", byKey(r.Polite.Problems)},
		[2]string{"429s of the greedy client, by problem type", byKey(r.Greedy.Problems)},
		[2]string{"statuses: polite / greedy", byKey(r.Polite.Statuses) + " / " + byKey(r.Greedy.Statuses)},
	)
	if len(r.Polite.NetErrors)+len(r.Greedy.NetErrors) > 0 {
		rows = append(rows, [2]string{"network errors: polite / greedy", byKey(r.Polite.NetErrors) + " / " + byKey(r.Greedy.NetErrors)})
	}
	if g.ScrapeErrors > 0 {
		rows = append(rows, [2]string{"failed /metrics samples", fmt.Sprint(g.ScrapeErrors)})
	}
	return writeRows(w, fmt.Sprintf("%.1f s measured", r.MeasuredS), rows)
}

// WriteABTable writes the lone-client comparison as a Markdown table.
func WriteABTable(w io.Writer, r ABResult) error {
	side := func(s Side) string {
		return fmt.Sprintf("%.1f 200/s (%d / %d requests, %.1f s; statuses %s)", s.OKPerSec, s.OK, s.Requests, s.MeasuredS, byKey(s.Statuses))
	}
	return writeRows(w, "lone client", [][2]string{
		{"fair share on", side(r.On)},
		{"fair share off", side(r.Off)},
		{"ratio on / off (200/s)", fmt.Sprintf("%.3f", r.Ratio)},
	})
}

func writeRows(w io.Writer, title string, rows [][2]string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "| figure | %s |\n|---|---|\n", title)
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s |\n", r[0], strings.ReplaceAll(r[1], "|", `\|`))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func pct(f float64) string { return fmt.Sprintf("%.1f %%", 100*f) }

// byKey renders counts as "k: n, …" in key order, "none" when empty.
func byKey(m map[string]int64) string {
	if len(m) == 0 {
		return "none"
	}
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s: %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
