// Package examples_test checks that docs/clients.md shows exactly the
// client examples that cmd/server/internal/serverapp's clients_test.go runs
// against the server.
package examples_test

import (
	"os"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// exampleFiles are the examples docs/clients.md shows, by fence language.
var exampleFiles = map[string]string{"go": "goclient/main.go", "python": "python/client.py"}

// The page's code blocks are the tested files, byte for byte.
func TestClientsPage_ShowsTheTestedCode(t *testing.T) {
	page, err := os.ReadFile("../clients.md")
	require.NoError(t, err)
	blocks := map[string][]string{}
	for _, m := range regexp.MustCompile("(?ms)^```(\\w+)\n(.*?)^```$").FindAllStringSubmatch(string(page), -1) {
		blocks[m[1]] = append(blocks[m[1]], m[2])
	}
	for lang, file := range exampleFiles {
		code, err := os.ReadFile(file)
		require.NoError(t, err)
		assert.Contains(t, blocks[lang], string(code), "docs/clients.md must show %s as it is", file)
	}
}
