// Package redisidem is the IdempotencyStore on Redis, shared by every server
// instance. Each client key is one Redis string, its record:
//
//	<prefix><digest>   n|o <fingerprint> <task id> <token> <lease end>   while no outcome is stored
//	                   d <fingerprint> <outcome>                          once one is
//
// where digest is domain.KeyDigest of the client's key, so a key's bytes never
// reach Redis (no hash-tag or length games) and every record has the same
// bounded size: the fingerprint, task id and token are at most
// ports.MaxClaimField bytes each, the outcome at most ports.MaxOutcomeBytes.
// A record lives for the TTL from the key's first run; a run that sent no
// task deletes the record it made (Forget). The lease is kept in the record
// and read against Redis's clock, so every step is one script (begin.lua,
// complete.lua, end.lua) and one round trip.
package redisidem

import (
	"context"
	_ "embed" // the Lua scripts live in .lua files beside this one
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/rueidis"

	"github.com/1000x-rps-server/rps-server/domain"
	"github.com/1000x-rps-server/rps-server/ports"
)

// Config sets up the store.
type Config struct {
	// Prefix starts every key; instances that share keys share the prefix.
	Prefix string
	// TTL is how long a key and its outcome are kept.
	TTL time.Duration
	// CommandTimeout bounds each step's call.
	CommandTimeout time.Duration
}

// Store keeps idempotency keys in Redis.
type Store struct {
	client                rueidis.Client
	cfg                   Config
	begin, complete, stop *rueidis.Lua
	now                   func() time.Time
}

// The scripts are safe to send twice (begin.lua knows its own token), so
// rueidis may retry them after a dropped connection.
var (
	//go:embed begin.lua
	beginScript string
	//go:embed complete.lua
	completeScript string
	//go:embed end.lua
	endScript string
)

// New returns the store on client, which the caller closes after it.
func New(client rueidis.Client, cfg Config) (*Store, error) {
	switch {
	case client == nil:
		return nil, errors.New("redisidem: client must be set")
	case cfg.TTL < time.Millisecond || cfg.CommandTimeout <= 0:
		return nil, errors.New("redisidem: ttl and command timeout must be positive")
	}
	return &Store{
		client: client, cfg: cfg, now: time.Now,
		begin:    rueidis.NewLuaScriptRetryable(beginScript),
		complete: rueidis.NewLuaScriptRetryable(completeScript),
		stop:     rueidis.NewLuaScriptRetryable(endScript),
	}, nil
}

// record names the Redis key of a client key.
func (s *Store) record(key string) string { return s.cfg.Prefix + domain.KeyDigest(key) }

// Begin implements ports.IdempotencyStore in one round trip (begin.lua).
func (s *Store) Begin(ctx context.Context, key string, claim ports.Claim) (ports.Entry, error) {
	if err := claim.Validate(); err != nil {
		return ports.Entry{}, fmt.Errorf("redisidem: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CommandTimeout)
	defer cancel()
	args := []string{claim.Fingerprint, claim.TaskID, claim.Token, ms(claim.Lease), ms(s.cfg.TTL)}
	reply, err := s.begin.Exec(ctx, s.client, []string{s.record(key)}, args).ToArray()
	if err != nil {
		return ports.Entry{}, unavailable("begin", err)
	}
	if len(reply) != 3 {
		return ports.Entry{}, fmt.Errorf("redisidem: begin: %d replies, want 3", len(reply))
	}
	state, err1 := reply[0].ToString()
	field, err2 := reply[1].ToString()
	left, err3 := reply[2].AsInt64()
	if err := errors.Join(err1, err2, err3); err != nil {
		return ports.Entry{}, fmt.Errorf("redisidem: begin: %w", err)
	}
	expires := s.now().Add(time.Duration(left) * time.Millisecond)
	switch state {
	case "claimed":
		return ports.Entry{State: ports.Claimed, TaskID: field, Token: claim.Token, Expires: expires}, nil
	case "inflight":
		return ports.Entry{State: ports.InFlight, TaskID: field, Expires: expires}, nil
	case "reused":
		return ports.Entry{State: ports.Reused, Expires: expires}, nil
	case "done":
		out, err := decodeOutcome(field)
		if err != nil {
			return ports.Entry{}, err
		}
		return ports.Entry{State: ports.Done, Outcome: out, Expires: expires}, nil
	default:
		return ports.Entry{}, fmt.Errorf("redisidem: begin: unknown state %q", state)
	}
}

// Complete implements ports.IdempotencyStore (complete.lua).
func (s *Store) Complete(ctx context.Context, key string, entry ports.Entry, outcome domain.Outcome) error {
	if err := ports.ValidateOutcome(outcome); err != nil {
		return errors.Join(fmt.Errorf("redisidem: %w", err), s.Abandon(ctx, key, entry))
	}
	raw, err := json.Marshal([3]string{outcome.RequestID, string(outcome.Kind), outcome.Value})
	if err != nil {
		return fmt.Errorf("redisidem: encode outcome: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CommandTimeout)
	defer cancel()
	if err := s.complete.Exec(ctx, s.client, []string{s.record(key)}, []string{entry.TaskID, string(raw)}).Error(); err != nil {
		return unavailable("complete", err)
	}
	return nil
}

// Abandon implements ports.IdempotencyStore (end.lua).
func (s *Store) Abandon(ctx context.Context, key string, entry ports.Entry) error {
	return s.end(ctx, key, entry, "0")
}

// Forget implements ports.IdempotencyStore (end.lua).
func (s *Store) Forget(ctx context.Context, key string, entry ports.Entry) error {
	return s.end(ctx, key, entry, "1")
}

func (s *Store) end(ctx context.Context, key string, entry ports.Entry, forget string) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CommandTimeout)
	defer cancel()
	if err := s.stop.Exec(ctx, s.client, []string{s.record(key)}, []string{entry.TaskID, entry.Token, forget}).Error(); err != nil {
		return unavailable("end run", err)
	}
	return nil
}

// Ready pings Redis.
func (s *Store) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CommandTimeout)
	defer cancel()
	if err := s.client.Do(ctx, s.client.B().Ping().Build()).Error(); err != nil {
		return unavailable("ping", err)
	}
	return nil
}

func unavailable(op string, err error) error {
	return fmt.Errorf("redisidem: %s: %w: %w", op, domain.ErrUnavailable, err)
}

func ms(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }

// decodeOutcome reads a stored outcome: request id, kind and value, as a
// JSON array (positions, not names: the fields' bytes are all it costs).
func decodeOutcome(raw string) (domain.Outcome, error) {
	var f [3]string
	if err := json.Unmarshal([]byte(raw), &f); err != nil {
		return domain.Outcome{}, fmt.Errorf("redisidem: decode outcome: %w", err)
	}
	return domain.Outcome{RequestID: f[0], Kind: domain.Kind(f[1]), Value: f[2], Replayed: true}, nil
}
