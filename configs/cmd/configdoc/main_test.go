package main

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/configs"
)

const (
	docPath     = "../../../docs/configuration.md"
	examplePath = "../../example.yaml"
)

// The reference a user reads is the one the code and example.yaml make
// now: a key added, renamed or given another default or comment fails here
// until `go tool task docs:config` is run.
func TestConfigurationDoc_IsCurrent(t *testing.T) {
	doc, err := os.ReadFile(docPath)
	require.NoError(t, err)
	want, err := regenerate(doc, examplePath)
	require.NoError(t, err)
	if line, got, wanted := firstDifference(string(doc), string(want)); line > 0 {
		t.Errorf("docs/configuration.md is stale: run go tool task docs:config\nline %d is\n\t%s\nwant\n\t%s", line, got, wanted)
	}
}

// firstDifference is the first line (from 1) where a and b differ, and
// that line of each; 0 when they are equal.
func firstDifference(a, b string) (line int, inA, inB string) {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range max(len(la), len(lb)) {
		x, y := "(end)", "(end)"
		if i < len(la) {
			x = la[i]
		}
		if i < len(lb) {
			y = lb[i]
		}
		if x != y {
			return i + 1, x, y
		}
	}
	return 0, "", ""
}

// Every setting has its row, with its variable and every other name it is
// read by, in the generated part of docs/configuration.md.
func TestConfigurationDoc_NamesEverySetting(t *testing.T) {
	raw, err := os.ReadFile(docPath)
	require.NoError(t, err)
	doc := string(raw)
	begin, end := strings.Index(doc, beginMarker), strings.Index(doc, endMarker)
	require.True(t, begin >= 0 && end > begin, "docs/configuration.md has no generated part")
	generated := doc[begin:end]
	rows := map[string]string{}
	for _, line := range strings.Split(generated, "\n") {
		if key, ok := strings.CutPrefix(line, "| `"); ok {
			key, _, _ = strings.Cut(key, "`")
			rows[key] = line
		}
	}
	settings := configs.Settings()
	require.NotEmpty(t, settings)
	for _, s := range settings {
		row, ok := rows[s.Key]
		if !assert.True(t, ok, "docs/configuration.md lacks the setting %s", s.Key) {
			continue
		}
		for _, name := range append(append([]string{s.Var}, s.Original...), s.Aliases...) {
			assert.Contains(t, row, "`"+name, "%s: its row does not name %s", s.Key, name)
		}
	}
	assert.Len(t, rows, len(settings), "a row for a key that is no setting")
}

func TestParseExample_KeysValuesAndCommentsAsWritten(t *testing.T) {
	const example = `# the file's header, no key's
top:                  # a section
  a: 5s               # first line
                      # second line
  b: "x # y"          # quoted # is the value's
  sub:                # nested
    c: ''
# at the margin: no key's
  d: {}
`
	got, err := parseExample(strings.NewReader(example))
	require.NoError(t, err)
	assert.Equal(t, map[string]*entry{
		"top":       {Comment: "a section", Section: true},
		"top.a":     {Value: "5s", Comment: "first line second line"},
		"top.b":     {Value: "x # y", Comment: "quoted # is the value's"},
		"top.sub":   {Comment: "nested", Section: true},
		"top.sub.c": {Value: ""},
		"top.d":     {Value: "{}"},
	}, got)
}

func TestRender_RefusesAKeyWithoutItsLine(t *testing.T) {
	example := map[string]*entry{
		"gate":          {Section: true},
		"gate.capacity": {Value: "100", Comment: "requests in flight"},
	}
	_, err := render([]configs.Setting{
		{Key: "gate.capacity", Var: "RPS_GATE__CAPACITY"},
		{Key: "gate.key", Var: "RPS_GATE__KEY"},
	}, example)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "gate.key")
}

func TestSplice_ReplacesOnlyTheGeneratedPart(t *testing.T) {
	doc := "intro\n" + beginMarker + "\nold\n" + endMarker + "\nafter\n"
	got, err := splice([]byte(doc), "new\n")
	require.NoError(t, err)
	assert.Equal(t, "intro\n"+beginMarker+"\nnew\n"+endMarker+"\nafter\n", string(got))

	_, err = splice([]byte("no markers"), "new\n")
	require.Error(t, err)
}
