package httpapi_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/mock/gomock"

	"github.com/1000x-rps-server/rps-server/domain"
)

func postWithKey(api http.Handler, keys ...string) *httptest.ResponseRecorder {
	hr := httptest.NewRequest(http.MethodPost, "/queue", nil)
	hr.Header.Set("X-Request-ID", "retry-req")
	for _, k := range keys {
		hr.Header.Add("Idempotency-Key", k)
	}
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, hr)
	return rec
}

func TestIdempotencyKey_FirstRunAnswersAsUsual(t *testing.T) {
	api, sub := newAPI(t)
	sub.EXPECT().SubmitOnce(gomock.Any(), gomock.Any(), "k1", domain.KindGiftCode, "retry-req").
		Return(domain.Outcome{RequestID: "retry-req", Kind: domain.KindGiftCode, Value: "GIFT-1"}, nil)
	rec := postWithKey(api, "k1")
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.JSONEq(t, `{"gift_code":"GIFT-1","request_id":"retry-req"}`, rec.Body.String())
	assert.Empty(t, rec.Header().Get("Idempotent-Replayed"))
}

func TestIdempotencyKey_ReplayIsTheFirstAnswer(t *testing.T) {
	api, sub := newAPI(t)
	sub.EXPECT().SubmitOnce(gomock.Any(), gomock.Any(), "k1", domain.KindGiftCode, "retry-req").
		Return(domain.Outcome{RequestID: "first-req", Kind: domain.KindGiftCode, Value: "GIFT-1", Replayed: true}, nil)
	rec := postWithKey(api, "k1")
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.JSONEq(t, `{"gift_code":"GIFT-1","request_id":"first-req"}`, rec.Body.String())
	assert.Equal(t, "true", rec.Header().Get("Idempotent-Replayed"))
	assert.Equal(t, "first-req", rec.Header().Get("X-Request-ID"))
}

func TestIdempotencyKey_Refusals(t *testing.T) {
	for _, tc := range []struct {
		name       string
		err        error
		status     int
		retryAfter string
	}{
		{"in_flight", domain.ErrKeyInFlight, http.StatusConflict, "2"},
		{"reused", fmt.Errorf("%w: another kind", domain.ErrKeyReused), http.StatusUnprocessableEntity, ""},
		{"store_down", domain.ErrUnavailable, http.StatusServiceUnavailable, "2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api, sub := newAPI(t)
			sub.EXPECT().SubmitOnce(gomock.Any(), gomock.Any(), "k1", domain.KindGiftCode, gomock.Any()).Return(domain.Outcome{}, tc.err)
			rec := postWithKey(api, "k1")
			assert.Equal(t, tc.status, rec.Code)
			assert.Equal(t, tc.retryAfter, rec.Header().Get("Retry-After"))
			p := decodeProblem(t, rec, "/queue")
			assert.Equal(t, "retry-req", p.RequestID)
		})
	}
}

func TestIdempotencyKey_BadKeysAreRefusedBeforeTheUseCase(t *testing.T) {
	for name, keys := range map[string][]string{
		"empty":     {""},
		"space":     {"a b"},
		"non_ascii": {"clé"},
		"too_long":  {strings.Repeat("k", 256)},
		"two":       {"a", "b"},
	} {
		t.Run(name, func(t *testing.T) {
			api, _ := newAPI(t) // the strict mock fails on any call
			rec := postWithKey(api, keys...)
			require.Equal(t, http.StatusBadRequest, rec.Code)
			assert.Contains(t, decodeProblem(t, rec, "/queue").Detail, "Idempotency-Key")
		})
	}
	t.Run("longest_is_fine", func(t *testing.T) {
		api, sub := newAPI(t)
		k := strings.Repeat("k", 255)
		sub.EXPECT().SubmitOnce(gomock.Any(), gomock.Any(), k, gomock.Any(), gomock.Any()).Return(domain.Outcome{Value: "G"}, nil)
		assert.Equal(t, http.StatusOK, postWithKey(api, k).Code)
	})
}
