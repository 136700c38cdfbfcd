-- Undoes an acquire whose caller gave up on it (a timeout, a cancel): frees
-- the slot if the acquire already ran, and marks the id undone for one lease
-- so that an acquire still queued behind a stall takes nothing when it runs.
-- KEYS[1] gate key, KEYS[2] its undone ids; ARGV[1] slot id (or a block
-- take's call id), ARGV[2] lease in ms, ARGV[3] (a block take only) the
-- slots it asked for: its members are id .. ':' .. 1 … that many.
-- KEYS[3], KEYS[4] (optional) the share hash and its levels. share.lua is
-- prepended.
-- Returns how many slots were freed.
local key, undone, share, levels, id, lease = KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', undone, '-inf', now)
redis.call('ZADD', undone, now + lease, id)
if redis.call('PTTL', undone) < lease then
  redis.call('PEXPIRE', undone, lease)
end
local members = {id}
if ARGV[3] then
  members = {}
  for i = 1, tonumber(ARGV[3]) do
    members[i] = id .. ':' .. i
  end
end
local freed = 0
for _, m in ipairs(members) do
  if redis.call('ZREM', key, m) == 1 then
    freed = freed + 1
    unown(share, levels, m)
  end
end
return freed
