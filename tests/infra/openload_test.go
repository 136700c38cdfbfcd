package infra

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The load counts every outcome, times the first 200 after a marked event,
// and finds a code handed out twice.
func TestOpenLoad_CountsOutcomesAndDuplicates(t *testing.T) {
	var n atomic.Int64
	var broken atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		i := n.Add(1)
		switch {
		case broken.Load() && i%2 == 0:
			time.Sleep(time.Second) // past the load's deadline
		case broken.Load():
			w.WriteHeader(http.StatusServiceUnavailable)
		case i == 3:
			fmt.Fprint(w, `{"gift_code":"GIFT-2","request_id":"r-3"}`) // request 2's code again
		default:
			fmt.Fprintf(w, `{"gift_code":"GIFT-%d","request_id":"r-%d"}`, i, i)
		}
	}))
	defer srv.Close()

	l := StartOpenLoad(t, OpenLoadConfig{Bases: []string{srv.URL}, Rate: 50, Duration: 1500 * time.Millisecond, Deadline: 300 * time.Millisecond})
	time.Sleep(500 * time.Millisecond)
	broken.Store(true)
	l.Mark("break")
	time.Sleep(500 * time.Millisecond)
	broken.Store(false)
	fixed := l.Mark("fix")
	s := l.Wait()

	assert.Equal(t, s.Sent, s.Outcomes[OutcomeOK]+s.Outcomes[OutcomeUnavailable]+s.Outcomes[OutcomeHang])
	assert.Positive(t, s.Outcomes[OutcomeUnavailable])
	assert.Positive(t, s.Outcomes[OutcomeHang])
	assert.Equal(t, 0, s.Outcomes[OutcomeOther])
	assert.Equal(t, 1, s.DuplicateCodes, "GIFT-2 was handed out twice")
	assert.Equal(t, 0, s.DuplicateRequests)
	require.Contains(t, s.FirstOKAfter, "fix")
	assert.Less(t, s.FirstOKAfter["fix"], 200*time.Millisecond)
	assert.NotContains(t, l.Between(fixed.Add(100*time.Millisecond), time.Now()), OutcomeHang)
}

// Anything but loopback is refused.
func TestOpenLoad_RefusesOtherHosts(t *testing.T) {
	ft := &fakeT{TB: t}
	func() {
		defer func() { _ = recover() }()
		StartOpenLoad(ft, OpenLoadConfig{Bases: []string{"http://10.1.2.3:8080"}, Rate: 1, Duration: time.Second, Deadline: time.Second})
	}()
	assert.True(t, ft.failed)
}

type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Errorf(string, ...any) { f.failed = true }
func (f *fakeT) FailNow()              { f.failed = true; panic("failnow") }
func (f *fakeT) Helper()               {}
