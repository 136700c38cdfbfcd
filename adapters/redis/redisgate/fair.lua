-- Takes a slot for a client under the fair share (domain.SharePolicy.Admit
-- and ClassLimits.RateStep, mirrored here). See scripts.go. share.lua is
-- prepended.
-- KEYS[1] gate key, KEYS[2] its undone ids, KEYS[3] the share hash,
-- KEYS[4] the active clients, KEYS[5] their weight, KEYS[6] the client's
-- rate (its GCRA tat in µs), KEYS[7] the contention flag (block mode),
-- KEYS[8] the levels hash.
-- ARGV[1] slot id, ARGV[2] capacity, ARGV[3] lease in ms, ARGV[4] client
-- key, ARGV[5] weight, ARGV[6] ceiling (0: none), ARGV[7] critical (1/0),
-- ARGV[8] headroom, ARGV[9] critical reserve, ARGV[10] active window in ms,
-- ARGV[11] rate emission in µs (0: no rate), ARGV[12] burst, ARGV[13]
-- contention flag window in ms (0: none), ARGV[14] n clients to mark
-- active, then those n (weight|client), then pairs of member,
-- weight|client: the slots a block-mode instance handed out locally
-- (never to a critical client), attributed now.
-- Returns {1} taken, {2} renewed, {3} undone (nothing changed), or
-- {0, limit, quota, retry µs}: refused by limit 1 capacity, 2 fair share,
-- 3 ceiling, 4 rate.
local key, undone, share, active, weights, rate, flag, levels = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local id, capacity, lease, client = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local weight, ceiling, critical = tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7] == '1'
local headroom, reserve, window = tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10])
local emission, burst, flagWindow = tonumber(ARGV[11]), tonumber(ARGV[12]), tonumber(ARGV[13])
if redis.call('ZSCORE', undone, id) then
  return {3}
end
local t = redis.call('TIME')
local nowUs = tonumber(t[1]) * 1000000 + tonumber(t[2])
local now = math.floor(nowUs / 1000)
prune(key, share, levels, now)
prune_active(active, weights, share, levels, now, window)
local n = tonumber(ARGV[14])
for i = 15, 14 + n do
  activate(active, weights, ARGV[i], now, window)
end
for i = 15 + n, #ARGV, 2 do
  local bar = string.find(ARGV[i + 1], '|', 1, true)
  local owner = string.sub(ARGV[i + 1], bar + 1)
  if redis.call('ZSCORE', key, ARGV[i]) and redis.call('HEXISTS', share, 'm:' .. ARGV[i]) == 0 then
    own(share, levels, ARGV[i], owner, string.sub(ARGV[i + 1], 1, bar - 1))
    raise(share, lease)
    raise(levels, lease)
  end
end
if redis.call('ZSCORE', key, id) then
  redis.call('ZADD', key, now + lease, id)
  raise(key, lease)
  raise(share, lease)
  return {2}
end
local tat = nowUs
if emission > 0 then
  tat = math.max(tonumber(redis.call('GET', rate)) or nowUs, nowUs) + emission
  local over = tat - nowUs - burst * emission
  if over > 0 then
    return {0, 4, burst, over}
  end
end
activate(active, weights, ARGV[5] .. '|' .. client, now, window)
local held = redis.call('ZCARD', key)
local mine = tonumber(redis.call('HGET', share, 'c:' .. client)) or 0
local free = capacity - held
local limit, quota = 0, 0
local mayUse = capacity
if not critical then
  mayUse = capacity - reserve
end
local activeWeight = tonumber(redis.call('GET', weights)) or 0
local share_ = math.max(1, math.floor(mayUse * weight / math.max(activeWeight, weight)))
if free <= 0 then
  limit, quota = 1, capacity
elseif ceiling > 0 and mine >= ceiling then
  limit, quota = 3, ceiling
elseif free <= capacity - mayUse then
  limit, quota = 1, mayUse
-- The levels are read only when the test without them would refuse: what
-- clients below their share hold only ever narrows the headroom kept.
elseif mine >= share_ and free <= capacity - mayUse + headroom
    and free <= capacity - mayUse + headroom - below_share(levels, capacity, reserve, activeWeight) then
  limit, quota = 2, share_
end
if limit > 0 then
  if flagWindow > 0 then
    redis.call('SET', flag, 1, 'PX', flagWindow)
  end
  return {0, limit, quota, 0}
end
redis.call('ZADD', key, now + lease, id)
raise(key, lease)
local kind = ARGV[5]
if critical then
  kind = kind .. 'c'
end
own(share, levels, id, client, kind)
raise(share, lease)
raise(levels, lease)
if emission > 0 then
  redis.call('SET', rate, string.format('%d', tat), 'PX', math.ceil((tat - nowUs) / 1000) + 1)
end
return {1}
