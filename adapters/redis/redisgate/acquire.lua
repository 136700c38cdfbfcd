-- Takes a slot in the gate. See scripts.go for why it is written this way.
-- KEYS[1] gate key, KEYS[2] its undone ids; ARGV[1] slot id, ARGV[2] capacity,
-- ARGV[3] lease in ms.
-- Returns 0 (full, nothing changed), 1 (slot taken), 2 (lease renewed) or
-- 3 (the id was undone: its caller gave up on it, nothing changed).
local key, undone, id = KEYS[1], KEYS[2], ARGV[1]
local capacity, lease = tonumber(ARGV[2]), tonumber(ARGV[3])
if redis.call('ZSCORE', undone, id) then
  return 3
end
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
