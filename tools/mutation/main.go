// Command mutation runs gremlins (pinned by this module's tool line) over the
// packages whose unit tests should fail when their behaviour goes, and sums
// up: one line "mutation score: NN%" (killed ÷ (killed + survived)), the
// timeouts and not-covered mutants apart, and the survivors written to a file
// to read against the code. Run it from the repository root through the
// Taskfile: `go tool task test:mutation`.
package main

import (
	"bufio"
	"cmp"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// defaultPackages have unit tests that need no infrastructure.
var defaultPackages = []string{
	"domain", "app", "configs", "adapters/httpapi",
	"adapters/memgate", "adapters/memledger", "adapters/membroker",
}

func main() {
	root := flag.String("root", ".", "the repository root (the service's module)")
	out := flag.String("out", ".cache/mutation", "directory for gremlins' reports and survivors.txt, under root")
	workers := flag.Int("workers", 1, "gremlins workers (each runs go test; 1 suits a loaded 2-core machine)")
	coefficient := flag.Int("timeout-coefficient", 10, "a mutant's tests time out after this many times the unmutated run")
	minScore := flag.Float64("min", 85, "fail when a package or the total scores below this percentage (0: never)")
	flag.Parse()
	pkgs := flag.Args()
	if len(pkgs) == 0 {
		pkgs = defaultPackages
	}
	if err := os.Chdir(*root); err != nil {
		fmt.Fprintln(os.Stderr, "mutation:", err)
		os.Exit(1)
	}
	if err := run(os.Stdout, pkgs, *out, *workers, *coefficient, *minScore); err != nil {
		fmt.Fprintln(os.Stderr, "mutation:", err)
		os.Exit(1)
	}
}

func run(w io.Writer, pkgs []string, out string, workers, coefficient int, minScore float64) error {
	if err := os.MkdirAll(out, 0o750); err != nil {
		return fmt.Errorf("output dir: %w", err)
	}
	var total tally
	var survivors, apart []mutant
	var low []string
	for _, pkg := range pkgs {
		pkg = filepath.ToSlash(filepath.Clean(strings.TrimPrefix(pkg, "./")))
		report := filepath.Join(out, strings.ReplaceAll(pkg, "/", "_")+".json")
		_ = os.Remove(report) // a stale report must not stand in for this run's
		if err := unleash(pkg, report, workers, coefficient); err != nil {
			return err
		}
		if _, err := os.Stat(report); errors.Is(err, os.ErrNotExist) {
			// gremlins writes no report when it finds nothing to mutate.
			fmt.Fprintf(w, "%-22s no mutants (no operator gremlins mutates)\n", pkg)
			continue
		}
		ms, err := readReport(pkg, report)
		if err != nil {
			return err
		}
		var t tally
		for _, m := range ms {
			t.add(m.Status)
			switch m.Status {
			case "LIVED":
				survivors = append(survivors, m)
			case "TIMED OUT", "NOT COVERED":
				apart = append(apart, m)
			}
		}
		total.merge(t)
		fmt.Fprintf(w, "%-22s %s\n", pkg, t)
		if minScore > 0 && t.score() < minScore {
			low = append(low, pkg)
		}
	}
	path := filepath.Join(out, "survivors.txt")
	if err := writeSurvivors(path, survivors, apart); err != nil {
		return err
	}
	for _, m := range apart {
		fmt.Fprintf(w, "%s: %s\n", strings.ToLower(m.Status), m)
	}
	fmt.Fprintf(w, "survivors: %d, in %s\n", len(survivors), path)
	fmt.Fprintf(w, "mutation score: %.0f%%\n", total.score())
	if minScore > 0 && (total.score() < minScore || len(low) > 0) {
		return fmt.Errorf("score under %.0f%% (total %.1f%%; packages under it: %s)", minScore, total.score(), strings.Join(low, ", "))
	}
	return nil
}

// unleash runs gremlins on one package, its machine-readable report to report.
func unleash(pkg, report string, workers, coefficient int) error {
	cmd := exec.Command("go", "tool", "-modfile=tools/mutation/go.mod", "gremlins", "unleash", "--silent",
		"--workers", strconv.Itoa(workers), "--timeout-coefficient", strconv.Itoa(coefficient),
		"--output", report, "./"+pkg)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("gremlins on %s: %w", pkg, err)
	}
	return nil
}

// mutant is one entry of a gremlins report, placed in the repository.
type mutant struct {
	File   string
	Line   int
	Column int
	Type   string
	Status string
	Code   string // the source line, trimmed
}

func (m mutant) String() string {
	return fmt.Sprintf("%s:%d:%d %s  %s", m.File, m.Line, m.Column, m.Type, m.Code)
}

// report is the part of gremlins' JSON output read here.
type report struct {
	Files []struct {
		FileName  string `json:"file_name"`
		Mutations []struct {
			Type   string `json:"type"`
			Status string `json:"status"`
			Line   int    `json:"line"`
			Column int    `json:"column"`
		} `json:"mutations"`
	} `json:"files"`
}

func readReport(pkg, path string) ([]mutant, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read report: %w", err)
	}
	var r report
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("decode report %s: %w", path, err)
	}
	var ms []mutant
	for _, f := range r.Files {
		file := filepath.ToSlash(filepath.Join(pkg, f.FileName))
		lines, err := readLines(file)
		if err != nil {
			return nil, err
		}
		for _, m := range f.Mutations {
			code := ""
			if m.Line >= 1 && m.Line <= len(lines) {
				code = strings.TrimSpace(lines[m.Line-1])
			}
			ms = append(ms, mutant{File: file, Line: m.Line, Column: m.Column, Type: m.Type, Status: m.Status, Code: code})
		}
	}
	slices.SortFunc(ms, func(a, b mutant) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column), cmp.Compare(a.Type, b.Type))
	})
	return ms, nil
}

func readLines(path string) ([]string, error) {
	f, err := os.Open(path) //nolint:gosec // a path gremlins reported inside this repository
	if err != nil {
		return nil, fmt.Errorf("read source: %w", err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read source %s: %w", path, err)
	}
	return lines, nil
}

func writeSurvivors(path string, survivors, apart []mutant) (err error) {
	f, err := os.Create(path) //nolint:gosec // the output path the caller chose
	if err != nil {
		return fmt.Errorf("survivors file: %w", err)
	}
	defer func() { err = errors.Join(err, f.Close()) }()
	bw := bufio.NewWriter(f)
	fmt.Fprintln(bw, "# mutants the tests did not kill (file:line:column type  source line)")
	for _, m := range survivors {
		fmt.Fprintln(bw, m)
	}
	if len(apart) > 0 {
		fmt.Fprintln(bw, "# timed out or not covered (not in the score)")
		for _, m := range apart {
			fmt.Fprintf(bw, "%s %s\n", strings.ToLower(m.Status), m)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("survivors file: %w", err)
	}
	return nil
}

// tally counts mutants by what the tests did to them.
type tally struct{ killed, lived, timedOut, notCovered, notViable int }

func (t *tally) add(status string) {
	switch status {
	case "KILLED":
		t.killed++
	case "LIVED":
		t.lived++
	case "TIMED OUT":
		t.timedOut++
	case "NOT COVERED":
		t.notCovered++
	case "NOT VIABLE":
		t.notViable++
	}
}

func (t *tally) merge(o tally) {
	t.killed += o.killed
	t.lived += o.lived
	t.timedOut += o.timedOut
	t.notCovered += o.notCovered
	t.notViable += o.notViable
}

// score is killed ÷ (killed + survived), in percent; 100 with no mutants.
func (t tally) score() float64 {
	if t.killed+t.lived == 0 {
		return 100
	}
	return 100 * float64(t.killed) / float64(t.killed+t.lived)
}

func (t tally) String() string {
	return fmt.Sprintf("%5.1f%%  killed %3d  survived %3d  timed out %d  not covered %d  not viable %d",
		t.score(), t.killed, t.lived, t.timedOut, t.notCovered, t.notViable)
}
