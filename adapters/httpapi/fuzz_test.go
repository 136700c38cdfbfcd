package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/1000x-rps-server/rps-server/adapters/httpapi"
	"github.com/1000x-rps-server/rps-server/domain"
)

// kindChecker answers like the app: a kind that is not a name is a 400, a
// kind it does not run a 422, and the gift code kind succeeds.
type kindChecker struct{}

func (kindChecker) Submit(_ context.Context, _ domain.Client, kind domain.Kind, _ string) (domain.Result, error) {
	if err := kind.Validate(); err != nil {
		return domain.Result{}, err
	}
	if kind != domain.KindGiftCode {
		return domain.Result{}, domain.ErrUnknownKind
	}
	return domain.Result{Value: "GIFT-1"}, nil
}

func (k kindChecker) SubmitOnce(ctx context.Context, _ domain.Client, key string, kind domain.Kind, id string) (domain.Outcome, error) {
	if !domain.ValidIdempotencyKey(key) {
		panic("the adapter passed on an invalid key: " + key)
	}
	res, err := k.Submit(ctx, domain.Client{}, kind, id)
	return domain.Outcome{RequestID: id, Kind: kind, Value: res.Value}, err
}

// FuzzQueue sends POST /queue with arbitrary bodies, content types, request
// ids and idempotency keys. The server must answer one of the statuses the
// contract documents for a client's input, never a 500; echo back a request
// id that is safe (the caller's only when sane); and always send JSON.
func FuzzQueue(f *testing.F) {
	f.Add([]byte(``), "", "", "")
	f.Add([]byte(`{"action":"get_gift_code"}`), "application/json", "req-1", "key-1")
	f.Add([]byte(`{"action":"other"}`), "application/json; charset=utf-8", "a b", "k")
	f.Add([]byte(`{"action":"Bad"}`), "application/json", "", "with space")
	f.Add([]byte(`{"action":"get_gift_code","x":1}`), "text/plain", "\x00", "\x7f")
	f.Add([]byte(`{"action":"get_gift_code"}{}`), "application/json", "", "")
	f.Add([]byte(`null`), "application/json", "", "é")
	reg := prometheus.NewRegistry()
	api, err := httpapi.New(kindChecker{}, httpapi.Config{
		BodyLimit: 256, RequestTimeout: time.Second, RetryAfter: time.Second,
		Logger: slog.New(slog.DiscardHandler), Registerer: reg, Gatherer: reg,
	})
	if err != nil {
		f.Fatal(err)
	}
	allowed := map[int]bool{200: true, 400: true, 413: true, 415: true, 422: true}
	f.Fuzz(func(t *testing.T, body []byte, ctype, requestID, key string) {
		r := httptest.NewRequest(http.MethodPost, "/queue", bytes.NewReader(body))
		r.Header.Set("Content-Type", ctype)
		if requestID != "" {
			r.Header.Set("X-Request-ID", requestID)
		}
		if key != "" {
			r.Header.Set("Idempotency-Key", key)
		}
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, r)
		if !allowed[rec.Code] {
			t.Fatalf("status %d for body %q type %q key %q: %s", rec.Code, body, ctype, key, rec.Body)
		}
		if rec.Code == http.StatusOK && key != "" && !domain.ValidIdempotencyKey(key) {
			t.Fatalf("accepted the invalid key %q", key)
		}
		id := rec.Header().Get("X-Request-ID")
		if id == "" || (id != requestID && len(id) != 36) {
			t.Fatalf("request id %q for the caller's %q", id, requestID)
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("not JSON: %q", rec.Body)
		}
	})
}
