// Package docs_test checks the documentation as a reader follows it: every
// relative link of README.md, CONTRIBUTING.md and docs/*.md reaches a file
// of the repository, and a link to a heading (#anchor) reaches a heading
// of that name, as GitHub renders it.
package docs_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// root is the repository, seen from this package.
const root = ".."

var (
	inlineLink    = regexp.MustCompile(`\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	referenceLink = regexp.MustCompile(`^\s*\[[^\]]+\]:\s*(\S+)`)
	codeSpan      = regexp.MustCompile("`[^`]*`")
	heading       = regexp.MustCompile(`^#{1,6}\s+(.*?)\s*#*\s*$`)
)

func TestLinks_EveryRelativeLinkReachesAFileAndHeading(t *testing.T) {
	pages := []string{"README.md", "CONTRIBUTING.md"}
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		rel, err := filepath.Rel(root, d)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, filepath.ToSlash(rel))
	}
	if len(docs) < 5 {
		t.Fatalf("docs/ holds %d pages; the README's contents name more", len(docs))
	}
	checked := 0
	for _, page := range pages {
		for _, l := range links(t, page) {
			checked++
			target, anchor, _ := strings.Cut(l.target, "#")
			file := page
			if target != "" {
				file = filepath.ToSlash(filepath.Join(filepath.Dir(page), target))
			}
			if strings.HasPrefix(file, "../") {
				t.Errorf("%s:%d: %s leaves the repository", page, l.line, l.target)
				continue
			}
			info, err := os.Stat(filepath.Join(root, file))
			if err != nil {
				t.Errorf("%s:%d: %s: no such file %s", page, l.line, l.target, file)
				continue
			}
			if anchor == "" {
				continue
			}
			if info.IsDir() || !strings.HasSuffix(file, ".md") {
				t.Errorf("%s:%d: %s: an anchor into %s, which has no headings", page, l.line, l.target, file)
				continue
			}
			if !anchors(t, file)[anchor] {
				t.Errorf("%s:%d: %s: %s has no heading #%s", page, l.line, l.target, file, anchor)
			}
		}
	}
	if checked < 20 {
		t.Errorf("only %d links found: the link pattern no longer matches the pages", checked)
	}
}

type link struct {
	target string
	line   int
}

// links are the relative links of a page, outside code blocks and code
// spans; web addresses are left to the reader.
func links(t *testing.T, page string) []link {
	t.Helper()
	var out []link
	fenced := false
	for i, line := range lines(t, page) {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if fenced {
			continue
		}
		line = codeSpan.ReplaceAllString(line, "")
		var targets []string
		for _, m := range inlineLink.FindAllStringSubmatch(line, -1) {
			targets = append(targets, m[1])
		}
		if m := referenceLink.FindStringSubmatch(line); m != nil {
			targets = append(targets, m[1])
		}
		for _, target := range targets {
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			out = append(out, link{target: target, line: i + 1})
		}
	}
	return out
}

// anchors are the ids GitHub gives a page's headings: lower case, spaces
// to hyphens, other punctuation dropped, a repeated one suffixed -1, -2.
func anchors(t *testing.T, page string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	seen := map[string]int{}
	fenced := false
	for _, line := range lines(t, page) {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		m := heading.FindStringSubmatch(line)
		if fenced || m == nil {
			continue
		}
		id := slug(m[1])
		if n := seen[id]; n > 0 {
			out[id+"-"+strconv.Itoa(n)] = true
		} else {
			out[id] = true
		}
		seen[id]++
	}
	return out
}

func slug(title string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(title) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

func lines(t *testing.T, page string) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, page))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(string(raw), "\n")
}

func TestSlug_AsGitHubMakesIt(t *testing.T) {
	for title, want := range map[string]string{
		"Retrying safely: `Idempotency-Key`":                 "retrying-safely-idempotency-key",
		"Brokers older than 4.0: `group.protocol`":           "brokers-older-than-40-groupprotocol",
		"Managed Kafka: SASL and SSL (Confluent Cloud, MSK)": "managed-kafka-sasl-and-ssl-confluent-cloud-msk",
		"Reply routing, and how it fails":                    "reply-routing-and-how-it-fails",
	} {
		if got := slug(title); got != want {
			t.Errorf("slug(%q) = %q, want %q", title, got, want)
		}
	}
}
