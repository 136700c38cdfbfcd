-- One instance's periodic sync (block mode): gives back leases it does not
-- need, renews the others, marks the clients it served lately active, and
-- reads the contention. See scripts.go. share.lua is prepended.
-- KEYS[1] gate key, KEYS[2] active instances, KEYS[3] contention flag,
-- KEYS[4] the share hash, KEYS[5] the active clients, KEYS[6] their weight,
-- KEYS[7] the share's levels;
-- ARGV[1] lease in ms, ARGV[2] instance id, ARGV[3] contention window in
-- ms, ARGV[4] leases still held after this call, ARGV[5] how many members
-- follow to give back, ARGV[6] how many clients to mark active,
-- ARGV[7] the clients' active window in ms, then the members to give
-- back, then the clients (weight|client), then the members to renew.
-- Returns {contended, instances, active clients, lost...}: lost are
-- members to renew that Redis no longer has (their lease ended).
local key, insts, flag, share, active, weights, levels = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local lease, inst, window = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local holding, give, clients = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local clientWindow = tonumber(ARGV[7])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 8, 7 + give do
  if redis.call('ZREM', key, ARGV[i]) == 1 then
    unown(share, levels, ARGV[i])
  end
end
prune_active(active, weights, share, levels, now, clientWindow)
for i = 8 + give, 7 + give + clients do
  activate(active, weights, ARGV[i], now, clientWindow)
end
local lost = {}
local renewed = false
for i = 8 + give + clients, #ARGV do
  if redis.call('ZSCORE', key, ARGV[i]) then
    redis.call('ZADD', key, now + lease, ARGV[i])
    renewed = true
  else
    lost[#lost + 1] = ARGV[i]
  end
end
if renewed then
  raise(key, lease)
  raise(share, lease)
  raise(levels, lease)
end
redis.call('ZREMRANGEBYSCORE', insts, '-inf', now)
if holding > 0 then
  redis.call('ZADD', insts, now + window, inst)
  raise(insts, window)
else
  redis.call('ZREM', insts, inst)
end
local reply = {redis.call('EXISTS', flag), redis.call('ZCARD', insts), redis.call('ZCARD', active)}
for _, m in ipairs(lost) do
  reply[#reply + 1] = m
end
return reply
