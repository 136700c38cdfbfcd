-- Stores a key's final outcome in its record (see begin.lua), unless it has
-- one already (the first outcome wins, also a late run's) or the record is
-- another task's (the key expired and was recorded anew). The record keeps
-- its expiry.
-- KEYS[1] the record; ARGV[1] the run's task id, ARGV[2] the outcome.
-- Returns 1 if stored, else 0.
local v = redis.call('GET', KEYS[1])
if not v then
  return 0
end
local state, fp, task = string.match(v, '^(%a) (%S+) (%S+)')
if state ~= 'n' and state ~= 'o' or task ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], 'd ' .. fp .. ' ' .. ARGV[2], 'KEEPTTL')
return 1
