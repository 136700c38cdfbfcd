-- Begins a run of a client key: claims its record, or says why not. The
-- record is one string, fields separated by spaces (none holds one):
--   n <fingerprint> <task id> <token> <lease end ms>  claimed by the run that recorded it
--   o <fingerprint> <task id> <token> <lease end ms>  an earlier run may have sent the task
--   d <fingerprint> <outcome>                         the final outcome
-- A lease end of 0 means no run holds the key. Times are Redis's (TIME).
-- KEYS[1] the record; ARGV[1] fingerprint, ARGV[2] task id, ARGV[3] token,
-- ARGV[4] lease in ms, ARGV[5] TTL of a new record in ms.
-- Returns {state, task id or outcome, ms until the record expires}, state
-- one of claimed, inflight, done, reused.
local rec = KEYS[1]
local fp, task, token, lease, ttl = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local until_ = string.format('%.0f', now + lease)
local v = redis.call('GET', rec)
if not v then
  redis.call('SET', rec, 'n ' .. fp .. ' ' .. task .. ' ' .. token .. ' ' .. until_, 'PX', ttl)
  return {'claimed', task, ttl}
end
local left = redis.call('PTTL', rec)
local state, vfp, rest = string.match(v, '^(%a) (%S+) (.*)$')
if not state then
  return redis.error_reply('malformed idempotency record')
end
if vfp ~= fp then
  return {'reused', '', left}
end
if state == 'd' then
  return {'done', rest, left}
end
local vtask, vtoken, vend = string.match(rest, '^(%S+) (%S+) (%d+)$')
if vtoken == token then
  return {'claimed', vtask, left} -- this call, sent again: the key is already ours
end
if tonumber(vend) > now then
  return {'inflight', vtask, left}
end
-- Free, or its holder's lease passed: claim it again, as the same task. A
-- holder that died may have sent the task, so the record is no longer new.
redis.call('SET', rec, 'o ' .. fp .. ' ' .. vtask .. ' ' .. token .. ' ' .. until_, 'KEEPTTL')
return {'claimed', vtask, left}
