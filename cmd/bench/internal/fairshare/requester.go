// Package fairshare measures how the service shares its capacity between
// clients, over its HTTP API only: one greedy client and several polite ones
// at once (Run), or one lone client against two deployments in turn (RunAB:
// fair share on, then off). Clients are told apart the way the service tells
// them apart by default, by their address: each dials from a loopback source
// address of its own. The gate's use is read from the servers' /metrics and,
// when given, from the gate's lease set in Redis.
package fairshare

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/httpclient"
	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/target"
)

// maxBody bounds how much of an answer is read.
const maxBody = 64 << 10

// noProblemType names the 429s whose body carries no problem type.
const noProblemType = "(none)"

// answer is what one POST /queue got.
type answer struct {
	status  int    // 0: no HTTP answer (netErr says why)
	problem string // a 429's problem type
	netErr  string
	bad     bool // a 200 without a gift code
}

// requester sends POST /queue from one source address.
type requester struct {
	http    *http.Client
	timeout time.Duration
}

// newRequester returns a client dialling from source (nil: the system's
// choice) that keeps up to conns connections per server alive.
func newRequester(source net.IP, conns int, timeout time.Duration, allowRemote bool) *requester {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	if source != nil {
		d.LocalAddr = &net.TCPAddr{IP: source}
	}
	tr := &http.Transport{
		DialContext:         target.GuardDial(d.DialContext, allowRemote, net.DefaultResolver),
		MaxIdleConnsPerHost: max(conns, 2),
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &requester{
		http: &http.Client{
			Transport:     tr,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		timeout: timeout,
	}
}

func (r *requester) close() { r.http.CloseIdleConnections() }

// post sends POST base/queue. ok is false when ctx was cancelled: the run is
// being torn down and the answer says nothing about the server.
func (r *requester) post(ctx context.Context, base string) (a answer, ok bool) {
	rctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, base+"/queue", http.NoBody)
	if err != nil {
		return answer{netErr: "bad request: " + err.Error()}, true
	}
	req.Header.Set("User-Agent", "rps-bench-fair")
	resp, err := r.http.Do(req)
	var body []byte
	if err == nil {
		body, err = io.ReadAll(io.LimitReader(resp.Body, maxBody))
		_ = resp.Body.Close()
	}
	if err != nil {
		if ctx.Err() != nil {
			return answer{}, false
		}
		return answer{netErr: httpclient.NetErrorText(err)}, true
	}
	a.status = resp.StatusCode
	switch a.status {
	case http.StatusOK:
		var v struct {
			GiftCode string `json:"gift_code"`
		}
		a.bad = json.Unmarshal(body, &v) != nil || v.GiftCode == ""
	case http.StatusTooManyRequests:
		a.problem = problemType(body)
	}
	return a, true
}

// problemType is the "type" of a problem+json body, noProblemType if none.
func problemType(body []byte) string {
	var p struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(body, &p) != nil || p.Type == "" {
		return noProblemType
	}
	return p.Type
}

// statusKey is the Tally.Statuses key of an answer.
func statusKey(a answer) string {
	if a.status == 0 {
		return "net"
	}
	return strconv.Itoa(a.status)
}
