package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/mock/gomock"

	"github.com/1000x-rps-server/rps-server/adapters/httpapi"
	"github.com/1000x-rps-server/rps-server/adapters/httpapi/httpapimocks"
	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/observability"
)

// plumbingHeaders are set by net/http or are standard for every response;
// any other response header must be documented in the contract.
var plumbingHeaders = []string{"Content-Type", "Content-Length", "Date", "Vary", "Allow"}

func loadContract(t *testing.T) (*openapi3.T, routers.Router) {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(httpapi.OpenAPI)
	require.NoError(t, err)
	require.NoError(t, doc.Validate(loader.Context), "the contract itself is valid OpenAPI")
	doc.Servers = nil // match requests to any host, as the tests send them
	router, err := legacy.NewRouter(doc)
	require.NoError(t, err)
	return doc, router
}

// contractCase is one documented case of a route: the request, what the use
// case does, and the status the contract promises.
type contractCase struct {
	name          string
	method, path  string
	body, ctype   string
	headers       map[string]string
	expect        func(sub *httpapimocks.MockTaskSubmitter)
	readiness     observability.Readiness
	clients       httpapi.Clients
	status        int
	badRequest    bool // the request breaks the contract on purpose (the 4xx cases)
	wantedHeaders []string
}

func TestContract_EveryRouteAnswersAsDocumented(t *testing.T) {
	doc, router := loadContract(t)
	limitedClass := httpapi.Clients{By: httpapi.IdentityHeader, Header: "X-API-Key", Classes: map[string]string{sha("partner-key"): "partner"},
		Policy: domain.SharePolicy{Enabled: true, Classes: map[string]domain.ClassLimits{"partner": {Weight: 1, Ceiling: 5, Rate: 20, Burst: 5}}}}
	gift := domain.Result{Value: "GIFT-ABC"}
	submitErr := func(err error) func(*httpapimocks.MockTaskSubmitter) {
		return func(s *httpapimocks.MockTaskSubmitter) {
			s.EXPECT().Submit(gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any()).Return(domain.Result{}, err)
		}
	}
	onceOut := func(out domain.Outcome, err error) func(*httpapimocks.MockTaskSubmitter) {
		return func(s *httpapimocks.MockTaskSubmitter) {
			s.EXPECT().SubmitOnce(gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any()).Return(out, err)
		}
	}
	cases := []contractCase{
		{name: "root", method: http.MethodGet, path: "/", status: 200},
		{name: "queue_no_body", method: http.MethodPost, path: "/queue", status: 200, expect: func(s *httpapimocks.MockTaskSubmitter) {
			s.EXPECT().Submit(gomock.Any(), gomock.Any(), domain.KindGiftCode, gomock.Any()).Return(gift, nil)
		}},
		{name: "queue_with_body", method: http.MethodPost, path: "/queue", body: `{"action":"get_gift_code"}`, ctype: "application/json", status: 200,
			expect: func(s *httpapimocks.MockTaskSubmitter) {
				s.EXPECT().Submit(gomock.Any(), gomock.Any(), domain.KindGiftCode, gomock.Any()).Return(gift, nil)
			}},
		{name: "queue_with_key", method: http.MethodPost, path: "/queue", headers: map[string]string{"Idempotency-Key": "k"}, status: 200,
			expect: onceOut(domain.Outcome{RequestID: "r", Value: "GIFT-A", Kind: domain.KindGiftCode}, nil)},
		{name: "queue_replayed", method: http.MethodPost, path: "/queue", headers: map[string]string{"Idempotency-Key": "k"}, status: 200,
			expect: onceOut(domain.Outcome{RequestID: "first", Value: "GIFT-A", Replayed: true}, nil), wantedHeaders: []string{"Idempotent-Replayed"}},
		{name: "queue_malformed_json", method: http.MethodPost, path: "/queue", body: `{"action":`, ctype: "application/json", status: 400, badRequest: true},
		{name: "queue_null_body", method: http.MethodPost, path: "/queue", body: `null`, ctype: "application/json", status: 400, badRequest: true},
		{name: "queue_bad_key", method: http.MethodPost, path: "/queue", headers: map[string]string{"Idempotency-Key": "a b"}, status: 400, badRequest: true},
		{name: "queue_in_flight", method: http.MethodPost, path: "/queue", headers: map[string]string{"Idempotency-Key": "k"}, status: 409,
			expect: onceOut(domain.Outcome{}, domain.ErrKeyInFlight), wantedHeaders: []string{"Retry-After"}},
		{name: "queue_too_large", method: http.MethodPost, path: "/queue", body: `{"action":"` + strings.Repeat("a", 100) + `"}`, ctype: "application/json", status: 413, badRequest: true},
		{name: "queue_wrong_type", method: http.MethodPost, path: "/queue", body: `action=x`, ctype: "text/plain", status: 415, badRequest: true},
		{name: "queue_unknown_kind", method: http.MethodPost, path: "/queue", body: `{"action":"other"}`, ctype: "application/json", status: 422, badRequest: true,
			expect: submitErr(domain.ErrUnknownKind)},
		{name: "queue_key_reused", method: http.MethodPost, path: "/queue", headers: map[string]string{"Idempotency-Key": "k"}, status: 422,
			expect: onceOut(domain.Outcome{}, domain.ErrKeyReused)},
		{name: "queue_busy", method: http.MethodPost, path: "/queue", status: 429, expect: submitErr(domain.ErrAtCapacity), wantedHeaders: []string{"Retry-After"}},
		{name: "queue_over_fair_share", method: http.MethodPost, path: "/queue", status: 429,
			expect:        submitErr(&domain.Refusal{Limit: domain.LimitFairShare, RetryAfter: 1500 * time.Millisecond, Quota: domain.Quota{Limit: 12}}),
			wantedHeaders: []string{"Retry-After", "RateLimit-Policy", "RateLimit"}},
		{name: "queue_over_rate", method: http.MethodPost, path: "/queue", status: 429,
			expect:        submitErr(&domain.Refusal{Limit: domain.LimitRate, RetryAfter: 300 * time.Millisecond, Quota: domain.Quota{Limit: 20, Window: time.Second}}),
			wantedHeaders: []string{"Retry-After", "RateLimit-Policy", "RateLimit"}},
		{name: "queue_class_with_limits", method: http.MethodPost, path: "/queue", status: 200, clients: limitedClass,
			headers: map[string]string{"X-API-Key": "partner-key"}, wantedHeaders: []string{"RateLimit-Policy"},
			expect: func(s *httpapimocks.MockTaskSubmitter) {
				s.EXPECT().Submit(gomock.Any(), gomock.Any(), domain.KindGiftCode, gomock.Any()).Return(gift, nil)
			}},
		{name: "queue_client_left", method: http.MethodPost, path: "/queue", status: 499, expect: submitErr(context.Canceled)},
		{name: "queue_bug", method: http.MethodPost, path: "/queue", status: 500, expect: func(s *httpapimocks.MockTaskSubmitter) {
			s.EXPECT().Submit(gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(
				func(context.Context, domain.Client, domain.Kind, string) (domain.Result, error) { panic("bug") })
		}},
		{name: "queue_worker_failed", method: http.MethodPost, path: "/queue", status: 502, expect: submitErr(domain.ErrTaskFailed)},
		{name: "queue_unavailable", method: http.MethodPost, path: "/queue", status: 503, expect: submitErr(domain.ErrUnavailable), wantedHeaders: []string{"Retry-After"}},
		{name: "queue_timed_out", method: http.MethodPost, path: "/queue", status: 504, expect: submitErr(domain.ErrTimedOut)},
		{name: "healthz", method: http.MethodGet, path: "/healthz", status: 200},
		{name: "readyz", method: http.MethodGet, path: "/readyz", status: 200, readiness: readiness(nil, "redis", nil)},
		{name: "readyz_shared_outage", method: http.MethodGet, path: "/readyz", status: 200, readiness: readiness(nil, "redis", domain.ErrUnavailable)},
		{name: "readyz_not_ready", method: http.MethodGet, path: "/readyz", status: 503, wantedHeaders: []string{"Retry-After"},
			readiness: readiness(domain.ErrStarting, "redis", nil)},
		{name: "metrics", method: http.MethodGet, path: "/metrics", status: 200},
		{name: "openapi", method: http.MethodGet, path: "/openapi.yaml", status: 200},
	}
	covered := map[string]bool{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			api, sub := newAPI(t, func(c *httpapi.Config) { c.Readiness, c.Clients = tc.readiness, tc.clients })
			if tc.expect != nil {
				tc.expect(sub)
			}
			r := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			if tc.body == "" {
				r = httptest.NewRequest(tc.method, tc.path, http.NoBody)
			}
			if tc.ctype != "" {
				r.Header.Set("Content-Type", tc.ctype)
			}
			for k, v := range tc.headers {
				r.Header.Set(k, v)
			}
			route, params, err := router.FindRoute(r)
			require.NoError(t, err, "the route is documented")
			in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route,
				Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
			reqErr := openapi3filter.ValidateRequest(context.Background(), in)
			if tc.badRequest {
				require.Error(t, reqErr, "this case's request breaks the contract on purpose")
			} else {
				require.NoError(t, reqErr)
			}
			// ValidateRequest read the body; give the handler a fresh one.
			r.Body = io.NopCloser(strings.NewReader(tc.body))

			rec := httptest.NewRecorder()
			api.ServeHTTP(rec, r)
			require.Equal(t, tc.status, rec.Code, rec.Body.String())
			err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
				RequestValidationInput: in, Status: rec.Code, Header: rec.Header(),
				Body:    io.NopCloser(bytes.NewReader(rec.Body.Bytes())),
				Options: &openapi3filter.Options{IncludeResponseStatus: true},
			})
			require.NoError(t, err, rec.Body.String())
			var documented []string
			for name := range route.Operation.Responses.Status(rec.Code).Value.Headers {
				documented = append(documented, http.CanonicalHeaderKey(name))
			}
			for name := range rec.Header() {
				if !slices.Contains(plumbingHeaders, name) {
					assert.Contains(t, documented, name, "undocumented response header")
				}
			}
			for _, name := range tc.wantedHeaders {
				assert.NotEmpty(t, rec.Header().Get(name), name)
			}
			covered[tc.method+" "+route.Path+" "+http.StatusText(rec.Code)] = true
		})
	}
	// Every documented status of every operation is driven by a case above.
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			for code := range op.Responses.Map() {
				status := 0
				_, _ = fmtSscan(code, &status)
				assert.True(t, covered[method+" "+path+" "+http.StatusText(status)], "no case drives %s %s %s", method, path, code)
			}
		}
	}
}

func fmtSscan(s string, n *int) (int, error) { return fmt.Sscan(s, n) }
