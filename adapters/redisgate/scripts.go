package redisgate

import "github.com/redis/rueidis"

// acquireScript takes a slot in a sorted set whose members are slot ids and
// whose scores are lease expiry times in ms, read from Redis's own clock so
// the instances' clocks never matter. Expired leases are pruned first: a
// crashed holder's slot comes back without anyone's help. Re-acquiring a held
// id renews its lease instead of taking a second slot. The key itself expires
// with the newest lease, so an abandoned gate leaves nothing behind.
//
// KEYS[1] gate key; ARGV[1] slot id, ARGV[2] capacity, ARGV[3] lease in ms.
// Returns 1 when the slot is held, 0 when the gate is full.
const acquireScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
  redis.call('PEXPIRE', KEYS[1], lease)
  return 1
end
return 0
`

// releaseScript frees exactly the caller's slot; releasing twice, or after
// the lease expired, removes nothing and is harmless.
//
// KEYS[1] gate key; ARGV[1] slot id. Returns how many members were removed.
const releaseScript = `return redis.call('ZREM', KEYS[1], ARGV[1])`

// Both scripts are idempotent per slot id, so rueidis may retry them after a
// broken connection. Exec sends EVALSHA and falls back to EVAL on NOSCRIPT,
// so a Redis restart, failover or SCRIPT FLUSH never turns into errors.
func newScripts() (acquire, release *rueidis.Lua) {
	return rueidis.NewLuaScriptRetryable(acquireScript), rueidis.NewLuaScriptRetryable(releaseScript)
}
