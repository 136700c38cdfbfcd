// Command goclient gets one gift code the way a client of the service should:
// one Idempotency-Key for the request and every retry of it, the server's
// Retry-After honoured on 409, 429 and 503, and a deadline after which it
// gives up.
//
//	go run ./docs/examples/goclient -url http://localhost:8000 -deadline 30s
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"strconv"
	"time"
)

func main() {
	url := flag.String("url", "http://localhost:8000", "the server's base URL")
	deadline := flag.Duration("deadline", 30*time.Second, "give up after this long")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), *deadline)
	code, err := GiftCode(ctx, http.DefaultClient, *url)
	cancel()
	if err != nil {
		log.Print(err)
		os.Exit(1)
	}
	fmt.Println(code)
}

// GiftCode asks for one gift code until it gets one, a refusal that a
// retry cannot change, or ctx's deadline.
func GiftCode(ctx context.Context, client *http.Client, baseURL string) (string, error) {
	// One key for this code, kept across every retry: a retry of a request
	// that did run gets that run's code again, never a second code.
	key := rand.Text()
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		code, wait, err := try(ctx, client, baseURL, key)
		var final *finalError
		switch {
		case err == nil:
			return code, nil
		case errors.As(err, &final):
			return "", err
		case wait == 0: // no Retry-After (a 5xx, or no answer): back off
			wait, backoff = backoff, min(2*backoff, 5*time.Second)
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return "", fmt.Errorf("giving up after %d attempts: %w", attempt, err)
		}
		log.Printf("attempt %d: %v; retrying in %s with the same Idempotency-Key", attempt, err, wait)
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("giving up after %d attempts: %w", attempt, err)
		case <-time.After(wait):
		}
	}
}

// finalError is an answer that a retry would only repeat (400, 413, 422…).
type finalError struct{ status, detail string }

func (e *finalError) Error() string { return e.status + ": " + e.detail }

// try sends POST /queue once. It returns the code, or the error with the
// wait the server asked for (Retry-After), zero when it named none.
func try(ctx context.Context, client *http.Client, baseURL, key string) (string, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/queue",
		bytes.NewReader([]byte(`{"action":"get_gift_code"}`)))
	if err != nil {
		return "", 0, &finalError{status: "bad request", detail: err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	resp, err := client.Do(req)
	if err != nil {
		return "", 0, fmt.Errorf("no answer: %w", err)
	}
	defer resp.Body.Close()
	var body struct {
		GiftCode string `json:"gift_code"`
		Detail   string `json:"detail"` // problem+json (RFC 9457)
	}
	decodeErr := json.NewDecoder(resp.Body).Decode(&body) // a proxy's own error page is not JSON
	switch resp.StatusCode {
	case http.StatusOK:
		if decodeErr != nil || body.GiftCode == "" {
			return "", 0, &finalError{status: resp.Status, detail: "no gift code in the answer"}
		}
		return body.GiftCode, 0, nil
	case http.StatusConflict, http.StatusTooManyRequests, http.StatusServiceUnavailable:
		seconds, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return "", time.Duration(seconds) * time.Second, fmt.Errorf("%s: %s", resp.Status, body.Detail)
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusGatewayTimeout:
		return "", 0, fmt.Errorf("%s: %s", resp.Status, body.Detail)
	default:
		return "", 0, &finalError{status: resp.Status, detail: body.Detail}
	}
}
