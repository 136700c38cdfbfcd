// Command configdoc writes the reference of every setting into
// docs/configuration.md, between its BEGIN GENERATED and END GENERATED
// lines: one table per section, each key with its RPS_ variable, the
// original's names and aliases it is also read by, its default and its
// meaning. The keys come from package configs (the struct, so none is
// missed), the defaults and meanings from configs/example.yaml (whose test
// holds it to the struct's defaults). Run it through `go tool task
// docs:config`; its test fails while the document is stale.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/1000x-rps-server/rps-server/configs"
)

const (
	beginMarker = "<!-- BEGIN GENERATED: go tool task docs:config -->"
	endMarker   = "<!-- END GENERATED -->"
)

func main() {
	doc := flag.String("doc", "docs/configuration.md", "the document to update")
	example := flag.String("example", "configs/example.yaml", "the example config: defaults and meanings")
	flag.Parse()
	if err := run(*doc, *example); err != nil {
		fmt.Fprintln(os.Stderr, "configdoc:", err)
		os.Exit(1)
	}
}

func run(docPath, examplePath string) error {
	doc, err := os.ReadFile(docPath)
	if err != nil {
		return fmt.Errorf("read doc: %w", err)
	}
	out, err := regenerate(doc, examplePath)
	if err != nil {
		return err
	}
	if bytes.Equal(out, doc) {
		return nil
	}
	if err := os.WriteFile(docPath, out, 0o644); err != nil { //nolint:gosec // a document in the repository, read by all
		return fmt.Errorf("write doc: %w", err)
	}
	return nil
}

// regenerate returns doc with its generated part made from the config's
// keys and the example file at examplePath.
func regenerate(doc []byte, examplePath string) ([]byte, error) {
	f, err := os.Open(examplePath) //nolint:gosec // a path the developer names
	if err != nil {
		return nil, fmt.Errorf("open example: %w", err)
	}
	defer func() { _ = f.Close() }()
	example, err := parseExample(f)
	if err != nil {
		return nil, err
	}
	table, err := render(configs.Settings(), example)
	if err != nil {
		return nil, err
	}
	return splice(doc, table)
}

// render writes a table per top-level section, in the struct's order.
func render(settings []configs.Setting, example map[string]*entry) (string, error) {
	var b strings.Builder
	var missing []string
	section := ""
	for _, s := range settings {
		e, ok := example[s.Key]
		if !ok || e.Section || (e.Comment == "" && s.Key != "kafka.settings") {
			missing = append(missing, s.Key)
			continue
		}
		top, _, _ := strings.Cut(s.Key, ".")
		if top != section {
			section = top
			fmt.Fprintf(&b, "\n### `%s`\n\n", top)
			if sec := example[top]; sec != nil && sec.Comment != "" {
				fmt.Fprintf(&b, "%s.\n\n", capitalise(cell(sec.Comment)))
			}
			b.WriteString("| key | variable | also read as | default | meaning |\n|---|---|---|---|---|\n")
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", s.Key, variable(s), alsoReadAs(s), defaultCell(s, e), meaning(s, example))
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("configs/example.yaml lacks a commented line for %s: write each key there with its default and what it means",
			strings.Join(missing, ", "))
	}
	return strings.TrimPrefix(b.String(), "\n"), nil
}

func variable(s configs.Setting) string {
	if s.Key == "kafka.settings" {
		return "`" + s.Var + "__<PROPERTY>` (`.` written `_`)"
	}
	v := "`" + s.Var + "`"
	if s.Secret {
		v += " 🔒"
	}
	return v
}

func alsoReadAs(s configs.Setting) string {
	var names []string
	for _, o := range s.Original {
		names = append(names, "`"+o+"`")
	}
	for _, a := range s.Aliases {
		names = append(names, "`"+a+"` (`"+configs.VarName(a)+"`)")
	}
	if len(names) == 0 {
		return "—"
	}
	return strings.Join(names, ", ")
}

func defaultCell(s configs.Setting, e *entry) string {
	switch {
	case s.Key == "kafka.settings":
		return "*(none: the tuned defaults)*"
	case e.Value == "":
		return "*(empty)*"
	}
	return "`" + e.Value + "`"
}

// meaning is the key's comment, with the names the other columns give
// (the original's variable first on the line) left out, and the comments
// of the subsections it sits in before it.
func meaning(s configs.Setting, example map[string]*entry) string {
	text := example[s.Key].Comment
	for _, o := range s.Original {
		text = regexp.MustCompile(`^`+regexp.QuoteMeta(o)+`\b[,;:]?\s*`).ReplaceAllString(text, "")
	}
	parts := strings.Split(s.Key, ".")
	for i := len(parts) - 2; i >= 1; i-- {
		if sec := example[strings.Join(parts[:i+1], ".")]; sec != nil && sec.Comment != "" {
			text = "(" + sec.Comment + ") " + text
		}
	}
	return cell(text)
}

// cell escapes what would end a table cell.
func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// splice replaces what lies between the markers of doc with table.
func splice(doc []byte, table string) ([]byte, error) {
	s := string(doc)
	begin := strings.Index(s, beginMarker)
	end := strings.Index(s, endMarker)
	if begin < 0 || end < begin {
		return nil, errors.New("the document has no " + beginMarker + " … " + endMarker + " lines")
	}
	return []byte(s[:begin+len(beginMarker)] + "\n" + table + s[end:]), nil
}
