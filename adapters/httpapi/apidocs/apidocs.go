// Package apidocs serves the API reference: Swagger UI rendering the
// OpenAPI contract the server serves, with Swagger UI's files embedded in
// the binary (github.com/swaggest/swgui), so the page works offline and no
// browser is sent to a CDN.
package apidocs

import (
	"net/http"

	"github.com/swaggest/swgui"
	"github.com/swaggest/swgui/v5emb"
)

// Handler serves the page at basePath and Swagger UI's files under it
// (basePath + "/swagger-ui-bundle.js", …); the page loads the contract from
// specURL. Anything else under basePath is a 404.
func Handler(title, basePath, specURL string) http.Handler {
	return v5emb.NewHandlerWithConfig(swgui.Config{
		Title:       title,
		SwaggerJSON: specURL,
		BasePath:    basePath,
		// Show the schemas too: the problem types and the gift code's shape
		// are half of what a client needs to know.
		SettingsUI: map[string]string{"defaultModelsExpandDepth": "1"},
	})
}
