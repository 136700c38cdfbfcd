package redisgate

import (
	_ "embed" // the Lua scripts live in .lua files beside this one

	"github.com/redis/rueidis"
)

// Replies of acquireScript.
const (
	replyFull    = 0 // the gate is full; nothing changed
	replyTaken   = 1 // a new slot is held
	replyRenewed = 2 // the id already held a slot; its lease was renewed
)

// acquireScript takes a slot in a sorted set whose members are slot ids and
// whose scores are lease expiry times in ms, read from Redis's own clock
// (TIME; Redis ≥ 5 replicates a script's effects, not the script, so this is
// allowed) so the instances' clocks never matter. Expired leases are pruned
// first: a crashed holder's slots come back without anyone's help.
// Re-acquiring a held id renews its lease instead of taking a second slot.
// The key's TTL is only ever raised to cover the newest lease, so an
// abandoned gate disappears, and an instance with a shorter lease (a rolling
// change of config) can never cut short another instance's leases.
// It is a file of its own so that tools outside Go (redis-benchmark in
// deployments/scripts/bench-gate.sh) run exactly the same script.
//
//go:embed acquire.lua
var acquireScript string

// releaseScript frees exactly the caller's slot; releasing twice, or after
// the lease expired, removes nothing and is harmless.
//
//go:embed release.lua
var releaseScript string

// newScripts returns both scripts. Exec sends EVALSHA and falls back to EVAL
// on NOSCRIPT (which also reloads the script), so a Redis restart, failover
// or SCRIPT FLUSH never turns into errors. Both are idempotent per slot id,
// so they are marked retryable: rueidis may resend them after a broken
// connection, within the caller's deadline.
func newScripts() (acquire, release *rueidis.Lua) {
	return rueidis.NewLuaScriptRetryable(acquireScript), rueidis.NewLuaScriptRetryable(releaseScript)
}
