package redisgate

import "github.com/redis/rueidis"

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
//
// KEYS[1] gate key; ARGV[1] slot id, ARGV[2] capacity, ARGV[3] lease in ms.
const acquireScript = `
local key, id = KEYS[1], ARGV[1]
local capacity, lease = tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
local held = redis.call('ZSCORE', key, id)
if not held and redis.call('ZCARD', key) >= capacity then
  return 0
end
redis.call('ZADD', key, now + lease, id)
if redis.call('PTTL', key) < lease then
  redis.call('PEXPIRE', key, lease)
end
if held then
  return 2
end
return 1
`

// releaseScript frees exactly the caller's slot; releasing twice, or after
// the lease expired, removes nothing and is harmless.
//
// KEYS[1] gate key; ARGV[1] slot id. Returns how many members were removed.
const releaseScript = `return redis.call('ZREM', KEYS[1], ARGV[1])`

// newScripts returns both scripts. Exec sends EVALSHA and falls back to EVAL
// on NOSCRIPT (which also reloads the script), so a Redis restart, failover
// or SCRIPT FLUSH never turns into errors. Both are idempotent per slot id,
// so they are marked retryable: rueidis may resend them after a broken
// connection, within the caller's deadline.
func newScripts() (acquire, release *rueidis.Lua) {
	return rueidis.NewLuaScriptRetryable(acquireScript), rueidis.NewLuaScriptRetryable(releaseScript)
}
