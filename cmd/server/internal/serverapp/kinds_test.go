package serverapp_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/adapters/httpapi"
	"github.com/1000x-rps-server/rps-server/adapters/membroker"
	"github.com/1000x-rps-server/rps-server/app"
	"github.com/1000x-rps-server/rps-server/configs"
	"github.com/1000x-rps-server/rps-server/domain"
)

// The task kinds are listed twice: app.DefaultHandlers (what workers run and
// servers accept) and the action enum of POST /queue in the API's contract,
// which httpapi serves and cannot derive, since adapters never import app.
// This package may import both, so the two lists are compared here; and the
// assembled server must accept every kind the contract documents.
func TestContractListsTheKindsTheServerAccepts(t *testing.T) {
	var registered []string
	for _, k := range app.KindsOf(app.DefaultHandlers(rand.Reader)) {
		registered = append(registered, string(k))
	}
	documented := documentedKinds(t)
	assert.ElementsMatch(t, registered, documented,
		"adapters/httpapi/openapi.yaml's action enum must list exactly the kinds of app.DefaultHandlers")

	srv := kindServer(t)
	for _, kind := range documented {
		resp, err := http.Post(srv.URL+"/queue", "application/json", strings.NewReader(`{"action":"`+kind+`"}`))
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, "the server accepts the documented kind %q", kind)
	}
	resp, err := http.Post(srv.URL+"/queue", "application/json", strings.NewReader(`{"action":"no_such_kind"}`))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, "and refuses one it does not run")
}

// documentedKinds is the action enum of POST /queue without its stand-ins
// for the default kind ("" and null).
func documentedKinds(t *testing.T) []string {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(httpapi.OpenAPI)
	require.NoError(t, err)
	queue := doc.Paths.Find("/queue")
	require.NotNil(t, queue, "the contract has /queue")
	require.NotNil(t, queue.Post, "the contract has POST /queue")
	media := queue.Post.RequestBody.Value.Content.Get("application/json")
	require.NotNil(t, media, "POST /queue takes JSON")
	action := media.Schema.Value.Properties["action"]
	require.NotNil(t, action, "the JSON body has an action")
	var kinds []string
	for _, v := range action.Value.Enum {
		if s, ok := v.(string); ok && s != "" {
			kinds = append(kinds, s)
		}
	}
	require.NotEmpty(t, kinds, "the action enum lists the kinds")
	return kinds
}

// kindServer is the assembled server with a broker double that answers
// every task.
func kindServer(t *testing.T) *httptest.Server {
	t.Helper()
	return newServer(t, configs.Default(), membroker.ProcessorFunc(func(_ context.Context, task domain.Task) domain.Result {
		return domain.Result{TaskID: task.ID, Value: "done-" + task.ID}
	}))
}
