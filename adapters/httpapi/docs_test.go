package httpapi_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/adapters/httpapi"
)

// GET /docs is an HTML page whose every asset the server itself serves
// (nothing from another origin), and the contract it renders is the one
// at /openapi.yaml.
func TestDocs_PageAssetsAndContractAreServedHere(t *testing.T) {
	api, _ := newAPI(t)
	page := get(api, "/docs")
	require.Equal(t, http.StatusOK, page.Code)
	assert.Contains(t, page.Header().Get("Content-Type"), "text/html")
	body := page.Body.String()

	refs := regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(body, -1)
	require.NotEmpty(t, refs)
	var scripts, styles int
	for _, ref := range refs {
		url := ref[1]
		require.Regexp(t, `^/docs/`, url, "an asset from elsewhere (a CDN) would break the page offline")
		rec := get(api, url)
		assert.Equal(t, http.StatusOK, rec.Code, url)
		assert.Positive(t, rec.Body.Len(), url)
		switch ct := rec.Header().Get("Content-Type"); {
		case regexp.MustCompile(`javascript`).MatchString(ct):
			scripts++
		case regexp.MustCompile(`text/css`).MatchString(ct):
			styles++
		}
	}
	assert.Positive(t, scripts, "the page loads Swagger UI's script from the server")
	assert.Positive(t, styles, "and its stylesheet")

	cfg := regexp.MustCompile(`(?s)var cfg = (\{.*?\});`).FindStringSubmatch(body)
	require.Len(t, cfg, 2, "the page's configuration")
	var settings struct {
		Spec string `json:"swaggerJsonUrl"`
	}
	require.NoError(t, json.Unmarshal([]byte(cfg[1]), &settings))
	spec := get(api, settings.Spec)
	require.Equal(t, http.StatusOK, spec.Code)
	assert.Equal(t, httpapi.OpenAPI, spec.Body.Bytes(), "the page renders the served contract")

	assert.Equal(t, http.StatusOK, get(api, "/docs/").Code)
	assert.Equal(t, http.StatusNotFound, get(api, "/docs/nothing.js").Code)
	assert.Equal(t, http.StatusNotFound, get(api, "/docsnothing").Code)
}
