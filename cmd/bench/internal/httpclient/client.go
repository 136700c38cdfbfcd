// Package httpclient sends the benchmark's requests to the server under
// test and classifies each answer (status, gift code, network error).
package httpclient

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/scenario"
	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/stats"
	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/target"
)

// GiftCodePrefix starts every gift code the service hands out.
const GiftCodePrefix = "GIFT-"

// maxBody bounds how much of an answer is read.
const maxBody = 1 << 20

// Config sets up the HTTP client.
type Config struct {
	AllowRemote bool          // dial non-loopback addresses too
	Timeout     time.Duration // per request, answer included
	MaxConns    int           // idle connections kept per host (≥ concurrency)
}

// Client sends the routes of a mix to one server and checks the answers.
type Client struct {
	http   *http.Client
	base   string
	routes []scenario.Route
	codes  *stats.Codes
	cfg    Config
}

// New returns a client for base (already checked by target.Check).
// Gift codes go into codes, shared by every run that should never see one twice.
func New(base *url.URL, mix scenario.Mix, codes *stats.Codes, cfg Config) *Client {
	return &Client{
		http:   newHTTP(cfg, max(cfg.MaxConns, 100)),
		base:   base.String(),
		routes: mix.Routes(),
		codes:  codes,
		cfg:    cfg,
	}
}

// newHTTP is an HTTP client keeping up to idle connections per host.
func newHTTP(cfg Config, idle int) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Client{
		Transport: &http.Transport{
			DialContext:         target.GuardDial(dialer.DialContext, cfg.AllowRemote, net.DefaultResolver),
			MaxIdleConnsPerHost: idle,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
			TLSHandshakeTimeout: 5 * time.Second,
		},
		// Never follow a redirect: it could lead off the allowed host.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Session is a client like c with a connection of its own, as each Locust
// user has its own session: what one user's answers do to its connection
// (a server holding it back after a refusal) is not shared with the others.
// Close it when the user is done.
func (c *Client) Session() *Client {
	s := *c
	s.http = newHTTP(c.cfg, 1)
	return &s
}

// Routes names the client's routes for a stats.Recorder.
func (c *Client) Routes() []stats.RouteInfo {
	out := make([]stats.RouteInfo, len(c.routes))
	for i, r := range c.routes {
		out[i] = stats.RouteInfo{Method: r.Method, Name: r.Name()}
	}
	return out
}

// Timeout bounds each request, answer included.
func (c *Client) Timeout() time.Duration { return c.cfg.Timeout }

// Close drops idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// Do sends route i and returns its outcome; latency is counted from start
// (now, or in the open model the time the request was due). ok is false
// when ctx was cancelled: the run is being torn down and the request says
// nothing about the server.
func (c *Client) Do(ctx context.Context, i int, start time.Time) (o stats.Outcome, ok bool) {
	route := c.routes[i]
	o = stats.Outcome{Route: i, Start: start}
	rctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, route.Method, c.base+route.Path, http.NoBody)
	if err != nil {
		o.Class, o.Error, o.Latency = stats.NetError, "bad request: "+err.Error(), time.Since(start)
		return o, true
	}
	req.Header.Set("User-Agent", "rps-bench")
	resp, err := c.http.Do(req)
	var body []byte
	if err == nil {
		body, err = io.ReadAll(io.LimitReader(resp.Body, maxBody))
		_ = resp.Body.Close()
	}
	o.Latency = time.Since(start)
	if err != nil {
		if ctx.Err() != nil {
			return o, false
		}
		o.Class, o.Error = stats.NetError, NetErrorText(err)
		return o, true
	}
	o.Status, o.Bytes = resp.StatusCode, len(body)
	o.Class = stats.ClassOf(resp.StatusCode)
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		o.RetryAfter = time.Duration(s) * time.Second
	}
	switch {
	case o.Class.Failure():
		o.Error = "HTTP " + resp.Status
	case o.Class == stats.OK && route.WantGiftCode:
		if msg := c.checkGiftCode(body); msg != "" {
			o.Class, o.Error = stats.BadAnswer, msg
		}
	}
	return o, true
}

// checkGiftCode returns what is wrong with a 200 answer of POST /queue, or "".
func (c *Client) checkGiftCode(body []byte) string {
	var answer struct {
		GiftCode *string `json:"gift_code"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		return "200 with a body that is not JSON"
	}
	switch {
	case answer.GiftCode == nil || *answer.GiftCode == "":
		return "200 without gift_code"
	case !strings.HasPrefix(*answer.GiftCode, GiftCodePrefix):
		return "gift_code without the " + GiftCodePrefix + " prefix"
	case c.codes.Add(*answer.GiftCode):
		return "duplicate gift_code"
	}
	return ""
}

// NetErrorText names a transport error briefly, without the URL, so that
// failures.csv groups them.
func NetErrorText(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed before the answer"
	case errors.Is(err, target.ErrRemoteHost):
		return "refused: not a loopback address"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return firstLine(err.Error())
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
