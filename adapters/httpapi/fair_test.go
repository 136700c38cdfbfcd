package httpapi_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/mock/gomock"

	"github.com/1000x-rps-server/rps-server/adapters/httpapi"
	"github.com/1000x-rps-server/rps-server/adapters/httpapi/problem"
	"github.com/1000x-rps-server/rps-server/domain"
)

// clientSeen posts r to an API configured by clients and returns the client
// the use case was given.
func clientSeen(t *testing.T, clients httpapi.Clients, trusted []*net.IPNet, r *http.Request) domain.Client {
	t.Helper()
	api, sub := newAPI(t, func(c *httpapi.Config) { c.Clients, c.TrustedProxies = clients, trusted })
	var got domain.Client
	sub.EXPECT().Submit(gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(
		func(_ context.Context, c domain.Client, _ domain.Kind, _ string) (domain.Result, error) {
			got = c
			return domain.Result{Value: "GIFT-1"}, nil
		})
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, r)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	return got
}

func TestClient_ByAddress(t *testing.T) {
	_, proxies, err := net.ParseCIDR("10.0.0.0/8")
	require.NoError(t, err)
	byIP := httpapi.Clients{By: httpapi.IdentityIP, IPv6Prefix: 64}
	for _, tc := range []struct {
		name    string
		clients httpapi.Clients
		peer    string
		xff     string
		want    string
	}{
		{"ipv4_as_is", byIP, "203.0.113.7:1234", "", "203.0.113.7"},
		{"ipv6_by_its_64", byIP, "[2001:db8:1:2:aaaa::1]:1234", "", "2001:db8:1:2::/64"},
		{"ipv6_neighbour_same_client", byIP, "[2001:db8:1:2:bbbb::9]:1234", "", "2001:db8:1:2::/64"},
		{"ipv6_whole_when_no_prefix", httpapi.Clients{By: httpapi.IdentityIP}, "[2001:db8::1]:1234", "", "2001:db8::1"},
		{"mapped_ipv4", byIP, "[::ffff:192.0.2.1]:1234", "", "192.0.2.1"},
		{"forwarded_only_from_a_trusted_proxy", byIP, "10.1.2.3:1234", "198.51.100.9", "198.51.100.9"},
		{"spoofed_forwarded_ignored", byIP, "203.0.113.7:1234", "198.51.100.9", "203.0.113.7"},
		{"identity_off_is_anonymous", httpapi.Clients{}, "203.0.113.7:1234", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/queue", http.NoBody)
			r.RemoteAddr = tc.peer
			if tc.xff != "" {
				r.Header.Set(echo.HeaderXForwardedFor, tc.xff)
			}
			got := clientSeen(t, tc.clients, []*net.IPNet{proxies}, r)
			assert.Equal(t, domain.Client{Key: tc.want}, got)
		})
	}
}

func TestClient_ByAPIKey_HashedAndClassed(t *testing.T) {
	clients := httpapi.Clients{By: httpapi.IdentityHeader, Header: "x-api-key", Classes: map[string]string{sha("partner-secret"): "partner"}}
	post := func(key string) domain.Client {
		r := httptest.NewRequest(http.MethodPost, "/queue", http.NoBody)
		if key != "" {
			r.Header.Set("X-Api-Key", key)
		}
		return clientSeen(t, clients, nil, r)
	}

	partner := post("partner-secret")
	assert.Equal(t, "partner", partner.Class, "a configured key gets its class")
	assert.Equal(t, sha("partner-secret")[:32], partner.Key, "the key's hash, truncated, never the key")

	other := post("someone-else")
	assert.Equal(t, domain.DefaultClass, other.ClassOf(), "an unknown key is in the default class")
	assert.Equal(t, sha("someone-else")[:32], other.Key)
	assert.NotEqual(t, partner.Key, other.Key)

	assert.Equal(t, domain.Client{}, post(""), "no key: anonymous")
}

func TestRefusal_SaysWhichLimitAndHowLongToWait(t *testing.T) {
	for _, tc := range []struct {
		name        string
		err         error
		limit       string
		retryAfter  string
		policy, now string // RateLimit-Policy and RateLimit; empty: absent
	}{
		{name: "bare_capacity", err: fmt.Errorf("acquire slot: %w", domain.ErrAtCapacity), limit: "capacity", retryAfter: "2"},
		{name: "capacity_with_quota", err: &domain.Refusal{Limit: domain.LimitCapacity, Quota: domain.Quota{Limit: 100}},
			limit: "capacity", retryAfter: "2", policy: `"capacity";q=100;qu="concurrent-requests"`, now: `"capacity";r=0;t=2`},
		{name: "fair_share", err: fmt.Errorf("acquire slot: %w", &domain.Refusal{Limit: domain.LimitFairShare, RetryAfter: 1200 * time.Millisecond, Quota: domain.Quota{Limit: 12}}),
			limit: "fair-share", retryAfter: "2", policy: `"fair-share";q=12;qu="concurrent-requests"`, now: `"fair-share";r=0;t=2`},
		{name: "ceiling", err: &domain.Refusal{Limit: domain.LimitCeiling, RetryAfter: 5 * time.Second, Quota: domain.Quota{Limit: 40}},
			limit: "client-ceiling", retryAfter: "5", policy: `"client-ceiling";q=40;qu="concurrent-requests"`, now: `"client-ceiling";r=0;t=5`},
		{name: "rate", err: &domain.Refusal{Limit: domain.LimitRate, RetryAfter: 50 * time.Millisecond, Quota: domain.Quota{Limit: 200, Window: time.Second}},
			limit: "rate", retryAfter: "1", policy: `"rate";q=200;w=1`, now: `"rate";r=0;t=1`},
		{name: "unknown_limit_reads_as_capacity", err: &domain.Refusal{Limit: "moon-phase"}, limit: "capacity", retryAfter: "2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api, sub := newAPI(t)
			sub.EXPECT().Submit(gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any()).Return(domain.Result{}, tc.err)
			rec := postQueue(api)
			require.Equal(t, http.StatusTooManyRequests, rec.Code)
			p := decodeProblem(t, rec, "/queue")
			assert.Equal(t, problem.TypeBase+tc.limit, p.Type)
			assert.Equal(t, tc.retryAfter, rec.Header().Get("Retry-After"), "sized to the limit, whole seconds rounded up")
			assert.Equal(t, tc.policy, rec.Header().Get("RateLimit-Policy"))
			assert.Equal(t, tc.now, rec.Header().Get("RateLimit"))
			if tc.limit == "capacity" {
				assert.Equal(t, busyDetail, p.Detail, "the original's text for the cluster-wide cap")
			} else {
				assert.NotEqual(t, busyDetail, p.Detail)
			}
		})
	}
}

func TestSuccess_AdvertisesTheClassLimits(t *testing.T) {
	clients := httpapi.Clients{By: httpapi.IdentityHeader, Header: "X-API-Key",
		Classes: map[string]string{sha("partner"): "partner", sha("slow"): "slow"},
		Policy: domain.SharePolicy{Enabled: true, Classes: map[string]domain.ClassLimits{
			domain.DefaultClass: {Weight: 1},
			"partner":           {Weight: 4, Ceiling: 40, Rate: 200, Burst: 50},
			"slow":              {Weight: 1, Rate: 0.5, Burst: 1},
		}}}
	api, sub := newAPI(t, func(c *httpapi.Config) { c.Clients = clients })
	sub.EXPECT().Submit(gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any()).Return(domain.Result{Value: "GIFT-1"}, nil).Times(3)
	post := func(key string) string {
		r := httptest.NewRequest(http.MethodPost, "/queue", http.NoBody)
		r.Header.Set("X-API-Key", key)
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, r)
		require.Equal(t, http.StatusOK, rec.Code)
		return rec.Header().Get("RateLimit-Policy")
	}
	assert.Equal(t, `"client-ceiling";q=40;qu="concurrent-requests", "rate";q=200;w=1`, post("partner"))
	assert.Equal(t, `"rate";q=1;w=2`, post("slow"), "a rate below 1/s as 1 per whole seconds")
	assert.Empty(t, post("anyone"), "no fixed limit, no policy")
}

func TestMetrics_RefusalsByClassAndLimit(t *testing.T) {
	clients := httpapi.Clients{By: httpapi.IdentityHeader, Header: "X-API-Key", Classes: map[string]string{sha("partner"): "partner"},
		Policy: domain.SharePolicy{Enabled: true, Classes: map[string]domain.ClassLimits{domain.DefaultClass: {Weight: 1}, "partner": {Weight: 2}}}}
	api, sub := newAPI(t, func(c *httpapi.Config) { c.Clients = clients })
	gomock.InOrder(
		sub.EXPECT().Submit(gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any()).Return(domain.Result{}, &domain.Refusal{Limit: domain.LimitFairShare}),
		sub.EXPECT().Submit(gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any()).Return(domain.Result{}, domain.ErrAtCapacity),
		sub.EXPECT().Submit(gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any()).Return(domain.Result{Value: "GIFT-1"}, nil),
	)
	for _, key := range []string{"partner", "raw-secret-key", "partner"} {
		r := httptest.NewRequest(http.MethodPost, "/queue", http.NoBody)
		r.Header.Set("X-API-Key", key)
		api.ServeHTTP(httptest.NewRecorder(), r)
	}
	body := get(api, "/metrics").Body.String()
	assert.Contains(t, body, `rps_fair_refusals_total{class="partner",limit="fair-share"} 1`)
	assert.Contains(t, body, `rps_fair_refusals_total{class="default",limit="capacity"} 1`)
	assert.Contains(t, body, `rps_fair_refusals_total{class="partner",limit="rate"} 0`, "every configured class and limit from the start")
	assert.Contains(t, body, `rps_fair_requests_total{class="partner"} 2`)
	assert.Contains(t, body, `rps_fair_top_refused_ratio{class="",client="",rank="10"} 0`, "every rank exists before anyone is refused")
	assert.NotContains(t, body, "raw-secret-key")
	assert.Equal(t, 10, strings.Count(body, "rps_fair_top_refused_ratio{"), "never more than ten clients")
}
