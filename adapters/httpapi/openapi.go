package httpapi

import (
	_ "embed" // the API's contract is a file of its own, served as written
	"net/http"

	"github.com/labstack/echo/v4"
)

// OpenAPI is the API's hand-written OpenAPI 3.1 contract, served at
// GET /openapi.yaml and checked against the handlers by the tests.
//
//go:embed openapi.yaml
var OpenAPI []byte

// openAPI serves the contract.
func (a *API) openAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/yaml", OpenAPI)
}
