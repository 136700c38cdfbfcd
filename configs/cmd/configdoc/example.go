package main

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// entry is one line of example.yaml that names a key or a section: the
// value written there (a key's default; empty for a section) and its
// comment, continuation lines included.
type entry struct {
	Value   string
	Comment string
	Section bool
}

var keyLine = regexp.MustCompile(`^( *)([a-z0-9_]+):(.*)$`)

// parseExample reads example.yaml by lines, as a person does: a key line
// `  name: value  # comment`, and comment lines indented past the previous
// key's column continue its comment. Comments at the margin (the file's
// header) belong to no key. A YAML parser is no help here: it hands
// continuation lines to the next key.
func parseExample(r io.Reader) (map[string]*entry, error) {
	out := map[string]*entry{}
	type level struct {
		indent int
		name   string
	}
	var stack []level
	var last *entry
	lastIndent := -1
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "":
			continue
		case strings.HasPrefix(trimmed, "#"):
			if indent := len(line) - len(strings.TrimLeft(line, " ")); last != nil && indent > lastIndent {
				last.Comment = join(last.Comment, strings.TrimSpace(strings.TrimPrefix(trimmed, "#")))
			}
			continue
		}
		m := keyLine.FindStringSubmatch(line)
		if m == nil {
			return nil, fmt.Errorf("example.yaml:%d: not a key line: %q", n, line)
		}
		indent := len(m[1])
		for len(stack) > 0 && stack[len(stack)-1].indent >= indent {
			stack = stack[:len(stack)-1]
		}
		path := make([]string, 0, len(stack)+1)
		for _, l := range stack {
			path = append(path, l.name)
		}
		path = append(path, m[2])
		value, comment := splitComment(m[3])
		e := &entry{Value: unquote(value), Comment: comment, Section: value == ""}
		out[strings.Join(path, ".")] = e
		if e.Section {
			stack = append(stack, level{indent, m[2]})
		}
		last, lastIndent = e, indent
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("example.yaml: %w", err)
	}
	return out, nil
}

// splitComment cuts `value  # comment` at the first # outside quotes that
// starts the line's rest or follows a space, as YAML does.
func splitComment(s string) (value, comment string) {
	var quote rune
	for i, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '"' || r == '\'':
			quote = r
		case r == '#' && (i == 0 || s[i-1] == ' '):
			return strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+1:])
		}
	}
	return strings.TrimSpace(s), ""
}

// unquote turns a quoted YAML scalar into its text; others pass unchanged.
func unquote(v string) string {
	if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
		return strings.ReplaceAll(v[1:len(v)-1], "''", "'")
	}
	if u, err := strconv.Unquote(v); err == nil && strings.HasPrefix(v, `"`) {
		return u
	}
	return v
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + " " + b
}
