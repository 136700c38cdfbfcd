package serverapp_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/configs"
)

// The fair.* settings reach the API: a key configured in a class with
// fixed limits is recognised by its hash, and its answers advertise them.
func TestFair_ConfiguredClassReachesTheAPI(t *testing.T) {
	sum := sha256.Sum256([]byte("partner-key"))
	cfg := configs.Default()
	cfg.Fair.Identity = configs.IdentityHeader
	cfg.Fair.Classes = "partner ceiling=40 rate=200"
	cfg.Fair.Keys = hex.EncodeToString(sum[:]) + "=partner"
	require.NoError(t, cfg.Validate())
	api := newAPI(t, cfg, newWorker(t).proc)

	post := func(key string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/queue", http.NoBody)
		r.Header.Set("X-API-Key", key)
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, r)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		return rec
	}
	assert.Equal(t, `"client-ceiling";q=40;qu="concurrent-requests", "rate";q=200;w=1`, post("partner-key").Header().Get("RateLimit-Policy"))
	assert.Empty(t, post("another-key").Header().Get("RateLimit-Policy"), "the default class has no fixed limit")
}
