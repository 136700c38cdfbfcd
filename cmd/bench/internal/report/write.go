package report

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/stats"
)

// output is one file of a run and how to write it.
type output struct {
	name  string
	write func(*bytes.Buffer) error
}

// WriteAll writes every file of a run into dir (created if missing) and
// returns their paths.
func WriteAll(dir string, s Record, history []stats.Tick) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("results dir: %w", err)
	}
	files := []output{
		{"stats.csv", func(b *bytes.Buffer) error { return WriteStats(b, s.Stats) }},
		{"failures.csv", func(b *bytes.Buffer) error { return WriteFailures(b, s.Stats) }},
		{"history.csv", func(b *bytes.Buffer) error { return WriteHistory(b, history) }},
		{"summary.json", func(b *bytes.Buffer) error { return WriteJSON(b, s) }},
		{"report.html", func(b *bytes.Buffer) error { return WriteHTML(b, s, history) }},
	}
	if s.Sweep != nil {
		files = append(files, output{"sweep.csv", func(b *bytes.Buffer) error { return WriteSweep(b, *s.Sweep) }})
	}
	var paths []string
	for _, f := range files {
		var buf bytes.Buffer
		if err := f.write(&buf); err != nil {
			return paths, fmt.Errorf("%s: %w", f.name, err)
		}
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			return paths, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}
