// Package redisidem is the IdempotencyStore on Redis, shared by every server
// instance. Each client key has three Redis keys, on one cluster slot:
//
//	<prefix>{h}:id    the key's identity: fingerprint, task id and expiry,
//	                  written once with SET NX (first request wins), kept for the TTL
//	<prefix>{h}:lock  the run in flight: the holder's token, SET NX with a lease
//	<prefix>{h}:done  the final outcome, SET NX (first outcome wins) until the id expires
//
// where h is a hash of the client's key, so a key's bytes never reach a Redis
// key name (no hash-tag or length games). Each step is one atomic command;
// only "delete the lock if it is still mine" needs a script (unlock.lua).
package redisidem

import (
	"context"
	"crypto/sha256"
	_ "embed" // the Lua script lives in a .lua file beside this one
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
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
	// CommandTimeout bounds each step's calls.
	CommandTimeout time.Duration
}

// Store keeps idempotency keys in Redis.
type Store struct {
	client rueidis.Client
	cfg    Config
	unlock *rueidis.Lua
	now    func() time.Time
}

// unlockScript deletes the lock only while it holds the caller's token, so a
// run whose lease lapsed cannot free the next run's lock. Sending it twice
// is harmless, so rueidis may retry it.
//
//go:embed unlock.lua
var unlockScript string

// New returns the store on client, which the caller closes after it.
func New(client rueidis.Client, cfg Config) (*Store, error) {
	switch {
	case client == nil:
		return nil, errors.New("redisidem: client must be set")
	case cfg.TTL < time.Millisecond || cfg.CommandTimeout <= 0:
		return nil, errors.New("redisidem: ttl and command timeout must be positive")
	}
	return &Store{client: client, cfg: cfg, unlock: rueidis.NewLuaScriptRetryable(unlockScript), now: time.Now}, nil
}

// identity is the value of the :id key.
type identity struct {
	Fingerprint string `json:"fp"`
	TaskID      string `json:"task"`
	Expires     int64  `json:"exp"` // unix ms
}

// keys names the Redis keys of a client key.
func (s *Store) keys(key string) (id, lock, done string) {
	sum := sha256.Sum256([]byte(key))
	base := s.cfg.Prefix + "{" + hex.EncodeToString(sum[:16]) + "}:"
	return base + "id", base + "lock", base + "done"
}

// Begin implements ports.IdempotencyStore in two round trips: record the
// identity (SET NX GET) and read the outcome; then take the lock (SET NX)
// and read the outcome again, since a run may have finished in between.
func (s *Store) Begin(ctx context.Context, key string, claim ports.Claim) (ports.Entry, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CommandTimeout)
	defer cancel()
	idKey, lockKey, doneKey := s.keys(key)
	b := s.client.B()

	mine := identity{Fingerprint: claim.Fingerprint, TaskID: claim.TaskID, Expires: s.now().Add(s.cfg.TTL).UnixMilli()}
	raw, err := json.Marshal(mine)
	if err != nil {
		return ports.Entry{}, fmt.Errorf("redisidem: encode: %w", err)
	}
	res := s.client.DoMulti(ctx,
		b.Set().Key(idKey).Value(string(raw)).Nx().Get().Pxat(time.UnixMilli(mine.Expires)).Build(),
		b.Get().Key(doneKey).Build())
	id := mine
	switch earlier, err := res[0].ToString(); {
	case rueidis.IsRedisNil(err): // a new key: ours
	case err != nil:
		return ports.Entry{}, unavailable("begin", err)
	default:
		if err := json.Unmarshal([]byte(earlier), &id); err != nil {
			return ports.Entry{}, fmt.Errorf("redisidem: decode identity: %w", err)
		}
	}
	expires := time.UnixMilli(id.Expires)
	if id.Fingerprint != claim.Fingerprint {
		return ports.Entry{State: ports.Reused, Expires: expires}, nil
	}
	if e, ok, err := outcomeOf(res[1], expires); err != nil || ok {
		return e, err
	}

	res = s.client.DoMulti(ctx,
		b.Set().Key(lockKey).Value(claim.Token).Nx().Px(claim.Lease).Build(),
		b.Get().Key(doneKey).Build())
	locked := true
	if err := res[0].Error(); rueidis.IsRedisNil(err) {
		locked = false
	} else if err != nil {
		return ports.Entry{}, unavailable("begin", err)
	}
	entry := ports.Entry{State: ports.Claimed, TaskID: id.TaskID, Token: claim.Token, Expires: expires}
	if e, ok, err := outcomeOf(res[1], expires); err != nil || ok {
		if locked {
			_ = s.Abandon(ctx, key, entry) // the lock expires by itself if this fails
		}
		return e, err
	}
	if !locked {
		return ports.Entry{State: ports.InFlight, TaskID: id.TaskID, Expires: expires}, nil
	}
	return entry, nil
}

// outcomeOf decodes a GET of the :done key; ok is false when there is none.
func outcomeOf(r rueidis.RedisResult, expires time.Time) (e ports.Entry, ok bool, err error) {
	raw, err := r.ToString()
	switch {
	case rueidis.IsRedisNil(err):
		return ports.Entry{}, false, nil
	case err != nil:
		return ports.Entry{}, false, unavailable("read outcome", err)
	}
	var out stored
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		return ports.Entry{}, false, fmt.Errorf("redisidem: decode outcome: %w", err)
	}
	return ports.Entry{State: ports.Done, Outcome: out.outcome(), Expires: expires}, true, nil
}

// Complete implements ports.IdempotencyStore: the outcome is written with
// SET NX until the key's expiry, then the run's lock is freed.
func (s *Store) Complete(ctx context.Context, key string, entry ports.Entry, outcome domain.Outcome) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CommandTimeout)
	defer cancel()
	_, lockKey, doneKey := s.keys(key)
	raw, err := json.Marshal(storedOf(outcome))
	if err != nil {
		return fmt.Errorf("redisidem: encode outcome: %w", err)
	}
	if !entry.Expires.After(s.now()) {
		return s.Abandon(ctx, key, entry) // the key is forgotten already
	}
	cmd := s.client.B().Set().Key(doneKey).Value(string(raw)).Nx().Pxat(entry.Expires).Build()
	if err := s.client.Do(ctx, cmd).Error(); err != nil && !rueidis.IsRedisNil(err) {
		return unavailable("complete", err)
	}
	if err := s.unlock.Exec(ctx, s.client, []string{lockKey}, []string{entry.Token}).Error(); err != nil {
		return unavailable("unlock", err)
	}
	return nil
}

// Abandon implements ports.IdempotencyStore.
func (s *Store) Abandon(ctx context.Context, key string, entry ports.Entry) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CommandTimeout)
	defer cancel()
	_, lockKey, _ := s.keys(key)
	if err := s.unlock.Exec(ctx, s.client, []string{lockKey}, []string{entry.Token}).Error(); err != nil {
		return unavailable("unlock", err)
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

// stored is the value of the :done key: an Outcome with names of its own, so
// renaming a Go field never breaks the records already in Redis.
type stored struct {
	RequestID string `json:"request_id"`
	Kind      string `json:"kind"`
	Value     string `json:"value,omitempty"`
	Refusal   string `json:"refusal,omitempty"`
	Detail    string `json:"detail,omitempty"`
}

func storedOf(o domain.Outcome) stored {
	return stored{RequestID: o.RequestID, Kind: string(o.Kind), Value: o.Value, Refusal: string(o.Refusal), Detail: o.Detail}
}

func (s stored) outcome() domain.Outcome {
	return domain.Outcome{
		RequestID: s.RequestID, Kind: domain.Kind(s.Kind), Value: s.Value,
		Refusal: domain.Refusal(s.Refusal), Detail: s.Detail, Replayed: true,
	}
}
