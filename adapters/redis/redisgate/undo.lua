-- Undoes an acquire whose caller gave up on it (a timeout, a cancel): frees
-- the slot if the acquire already ran, and marks the id undone for one lease
-- so that an acquire still queued behind a stall takes nothing when it runs.
-- KEYS[1] gate key, KEYS[2] its undone ids; ARGV[1] slot id (or a block
-- take's call id), ARGV[2] lease in ms, ARGV[3] (a block take only) the
-- slots it asked for: its members are id .. ':' .. 1 … that many.
-- Returns how many slots were freed.
local key, undone, id, lease = KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', undone, '-inf', now)
redis.call('ZADD', undone, now + lease, id)
if redis.call('PTTL', undone) < lease then
  redis.call('PEXPIRE', undone, lease)
end
if not ARGV[3] then
  return redis.call('ZREM', key, id)
end
local freed = 0
for i = 1, tonumber(ARGV[3]) do
  freed = freed + redis.call('ZREM', key, id .. ':' .. i)
end
return freed
