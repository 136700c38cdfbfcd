-- Takes a slot in the gate. See scripts.go for why it is written this way.
-- KEYS[1] gate key; ARGV[1] slot id, ARGV[2] capacity, ARGV[3] lease in ms.
-- Returns 0 (full, nothing changed), 1 (slot taken) or 2 (lease renewed).
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
