-- Ends a run without an outcome, if the run still holds the key (see
-- begin.lua). With ARGV[3] = 1 the run sent no task: a record it made
-- itself is deleted, as if the key had never been seen. Otherwise the key
-- is freed and keeps its task id (state o), for the next run to ask again.
-- KEYS[1] the record; ARGV[1] the run's task id, ARGV[2] its token,
-- ARGV[3] 1 to forget. Returns 1 if the record changed, else 0.
local v = redis.call('GET', KEYS[1])
if not v then
  return 0
end
local state, fp, task, token = string.match(v, '^([no]) (%S+) (%S+) (%S+) %d+$')
if not state or task ~= ARGV[1] or token ~= ARGV[2] then
  return 0
end
if ARGV[3] == '1' and state == 'n' then
  return redis.call('DEL', KEYS[1])
end
redis.call('SET', KEYS[1], 'o ' .. fp .. ' ' .. task .. ' ' .. token .. ' 0', 'KEEPTTL')
return 1
