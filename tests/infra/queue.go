package infra

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// PostQueue sends one POST /queue to the server at base, as a client of the
// service does, and returns the status and, for a 200, the gift code. A 200
// whose body is not the gift-code JSON is an error.
func PostQueue(ctx context.Context, client *http.Client, base string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/queue", nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var body struct {
		GiftCode string `json:"gift_code"`
	}
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			return resp.StatusCode, "", fmt.Errorf("decode 200 body: %w", err)
		}
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, body.GiftCode, nil
}
