package redisgate

import (
	_ "embed" // the Lua scripts live in .lua files beside this one
	"strings"

	"github.com/redis/rueidis"
)

// Replies of acquireScript.
const (
	replyFull    = 0 // the gate is full; nothing changed
	replyTaken   = 1 // a new slot is held
	replyRenewed = 2 // the id already held a slot; its lease was renewed
	replyUndone  = 3 // the id was undone (its caller gave up on it); nothing changed
)

// acquireScript is the acquire without a share policy. It takes a slot in
// a sorted set whose members are slot ids and whose scores are lease
// expiry times in ms, read from Redis's own clock
// (TIME; Redis ≥ 5 replicates a script's effects, not the script, so this is
// allowed) so the instances' clocks never matter. Expired leases are pruned
// first: a crashed holder's slots come back without anyone's help.
// Re-acquiring a held id renews its lease instead of taking a second slot.
// An id marked undone (undoScript) takes nothing: that acquire's caller is
// gone, and it ran only because it sat queued behind a stall.
// The key's TTL is only ever raised to cover the newest lease, so an
// abandoned gate disappears, and an instance with a shorter lease (a rolling
// change of config) can never cut short another instance's leases.
// It is a file of its own so that tools outside Go (redis-benchmark in
// deployments/scripts/bench-gate.sh) run exactly the same script. It prunes
// without the share's bookkeeping: an instance with the share off beside
// others with it on (a rolling change) may leave a crashed holder's count
// until the share hash expires with its leases.
//
//go:embed acquire.lua
var acquireScript string

// shareScript is the fair share's bookkeeping (owners of slots, clients'
// counts, the active clients and their weight), prepended to every script
// that frees or prunes slots, so a slot freed by any path, a crash's
// expired lease included, stops counting against its client.
//
//go:embed share.lua
var shareScript string

// fairScript is the acquire under a share policy: the rate (GCRA), then
// domain.SharePolicy.Admit over counts kept beside the gate, in one atomic
// call. Its cost does not grow with the number of clients: O(log capacity)
// plus the leases and active clients that ended since the last call, each
// pruned once. A block-mode instance passes with it the clients it served
// locally and the slots it handed out, so the counts cover them too.
//
//go:embed fair.lua
var fairScript string

// releaseScript frees exactly the caller's slot; releasing twice, or after
// the lease expired, removes nothing and is harmless.
//
//go:embed release.lua
var releaseScript string

// undoScript frees the slot of an acquire whose caller gave up on it, and
// marks the id undone for one lease in a second sorted set, so an acquire of
// that id still queued in Redis (behind a stall, on another connection)
// takes nothing when it finally runs. Order between the two never matters.
// Both modes use it: a block take's call id undoes the whole take.
//
//go:embed undo.lua
var undoScript string

// takeScript takes up to a block of slots for one instance (block mode):
// the same sorted set and leases as the per-request acquire, one member per
// slot (call id:1 … call id:n), never past the capacity. A take that gets
// nothing sets a short-lived contention flag, and every take registers its
// instance as active for a short window: from the two, the instances
// holding slots learn that another one is refused and how many share the
// capacity, and give back what is above their share. A call id marked
// undone (undoScript, after a stall) takes nothing.
//
//go:embed take.lua
var takeScript string

// syncScript is a block-mode instance's one call per interval: it gives
// back the leases the instance does not need, renews the rest (reporting
// those Redis no longer has), keeps the instance registered as active while
// it holds leases, and reads the contention flag. Renewing only members
// still present never resurrects a lease whose room another instance may
// have been granted.
//
//go:embed sync.lua
var syncScript string

// scripts are the gate's Lua scripts. Exec sends EVALSHA and falls back to
// EVAL on NOSCRIPT (which also reloads the script), so a Redis restart,
// failover or SCRIPT FLUSH never turns into errors. All are marked
// retryable: rueidis may resend them after a broken connection, within the
// caller's deadline. Acquire, release and undo are idempotent per slot id;
// a resent take re-adds the same call id's members (counted once; one that
// finds less room than the first run granted leaves the rest to their
// lease), and a sync is idempotent.
// A resent fair acquire renews the slot its first run took.
type scripts struct {
	acquire, fair, release, undo *rueidis.Lua // both modes (release gives back a block's leases too)
	take, sync                   *rueidis.Lua // block mode
}

func newScripts() scripts {
	withShare := func(script string) *rueidis.Lua {
		return rueidis.NewLuaScriptRetryable(shareScript + "\n" + script)
	}
	return scripts{
		acquire: rueidis.NewLuaScriptRetryable(acquireScript), fair: withShare(fairScript),
		release: withShare(releaseScript), undo: withShare(undoScript),
		take: withShare(takeScript), sync: withShare(syncScript),
	}
}

// undoneKey names the set of undone ids beside the gate key.
func undoneKey(key string) string { return siblingKey(key, ":undone") }

// The fair share's keys beside the gate key (share.lua says what they hold).
func shareKey(key string) string  { return siblingKey(key, ":share") }
func levelsKey(key string) string { return siblingKey(key, ":levels") }
func activeKey(key string) string { return siblingKey(key, ":clients") }
func weightKey(key string) string { return siblingKey(key, ":weight") }
func rateKey(key, client string) string {
	return siblingKey(key, ":rate:"+client)
}

// siblingKey names a key beside the gate key, in the same Redis Cluster
// slot: it reuses the key's {hash tag}, or makes the whole key the tag when
// it has none.
func siblingKey(key, suffix string) string {
	if i := strings.IndexByte(key, '{'); i >= 0 && strings.IndexByte(key[i:], '}') > 1 {
		return key + suffix
	}
	return "{" + key + "}" + suffix
}
