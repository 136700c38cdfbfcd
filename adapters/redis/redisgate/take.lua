-- Takes up to a block of slots for one instance (block mode). See scripts.go.
-- KEYS[1] gate key, KEYS[2] its undone ids, KEYS[3] active instances,
-- KEYS[4] contention flag, KEYS[5] the share hash, KEYS[6] its levels;
-- ARGV[1] call id, ARGV[2] slots wanted,
-- ARGV[3] capacity, ARGV[4] lease in ms, ARGV[5] instance id,
-- ARGV[6] contention window in ms.
-- Returns {granted, contended, instances}: the members taken are
-- call id .. ':' .. 1 … granted; granted -1: the call id was undone.
-- share.lua is prepended.
local key, undone, insts, flag, share, levels = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local id, want, capacity, lease = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local inst, window = ARGV[5], tonumber(ARGV[6])
if redis.call('ZSCORE', undone, id) then
  return {-1, 0, 0}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
prune(key, share, levels, now)
local granted = math.max(0, math.min(want, capacity - redis.call('ZCARD', key)))
if granted > 0 then
  local args = {}
  for i = 1, granted do
    args[2 * i - 1] = now + lease
    args[2 * i] = id .. ':' .. i
  end
  redis.call('ZADD', key, unpack(args))
  if redis.call('PTTL', key) < lease then
    redis.call('PEXPIRE', key, lease)
  end
else
  redis.call('SET', flag, 1, 'PX', window)
end
redis.call('ZREMRANGEBYSCORE', insts, '-inf', now)
redis.call('ZADD', insts, now + window, inst)
if redis.call('PTTL', insts) < window then
  redis.call('PEXPIRE', insts, window)
end
return {granted, redis.call('EXISTS', flag), redis.call('ZCARD', insts)}
