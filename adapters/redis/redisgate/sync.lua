-- One instance's periodic sync (block mode): gives back leases it does not
-- need, renews the others, and reads the contention. See scripts.go.
-- KEYS[1] gate key, KEYS[2] active instances, KEYS[3] contention flag;
-- ARGV[1] lease in ms, ARGV[2] instance id, ARGV[3] contention window in
-- ms, ARGV[4] leases still held after this call, ARGV[5] how many members
-- follow to give back, then those members, then the members to renew.
-- Returns {contended, instances, lost...}: lost are members to renew that
-- Redis no longer has (their lease ended).
local key, insts, flag = KEYS[1], KEYS[2], KEYS[3]
local lease, inst, window = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local holding, give = tonumber(ARGV[4]), tonumber(ARGV[5])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 6, 5 + give do
  redis.call('ZREM', key, ARGV[i])
end
local lost = {}
local renewed = false
for i = 6 + give, #ARGV do
  if redis.call('ZSCORE', key, ARGV[i]) then
    redis.call('ZADD', key, now + lease, ARGV[i])
    renewed = true
  else
    lost[#lost + 1] = ARGV[i]
  end
end
if renewed and redis.call('PTTL', key) < lease then
  redis.call('PEXPIRE', key, lease)
end
redis.call('ZREMRANGEBYSCORE', insts, '-inf', now)
if holding > 0 then
  redis.call('ZADD', insts, now + window, inst)
  if redis.call('PTTL', insts) < window then
    redis.call('PEXPIRE', insts, window)
  end
else
  redis.call('ZREM', insts, inst)
end
local reply = {redis.call('EXISTS', flag), redis.call('ZCARD', insts)}
for _, m in ipairs(lost) do
  reply[#reply + 1] = m
end
return reply
