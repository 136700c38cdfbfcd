-- Shared by the scripts that free or prune slots, prepended to them (see
-- scripts.go): the fair share's bookkeeping beside the gate's sorted set.
-- The share hash holds 'm:' .. member → the client holding that slot, and
-- 'c:' .. client → how many slots it holds (deleted at 0), and
-- 't:' .. client → kind .. '|' .. k: the level the client is counted at in
-- the levels hash, where kind .. ':' .. k → how many clients of that kind
-- (weight, and 'c' when critical) hold k slots (domain.Level). Both live as
-- long as the leases they describe (their TTLs are raised with theirs).
-- The active set holds weight .. '|' .. client, scored by when the client
-- stops counting, and the weight key the sum of their weights; both live as
-- long as the last client's window.

-- bump adds d to a level's clients, deleting it at 0.
local function bump(levels, field, d)
  if redis.call('HINCRBY', levels, field, d) <= 0 then
    redis.call('HDEL', levels, field)
  end
end

-- level moves client to the level of the k slots it holds now: out of the
-- one its 't:' entry names, into kind:k (kind: the entry's when nil). An
-- instance of an earlier version (a rolling upgrade) keeps 'c:' but not the
-- levels: the next move of the client here sets its level right again.
local function level(share, levels, client, kind, k)
  if not levels then
    return
  end
  local was = redis.call('HGET', share, 't:' .. client)
  if was then
    local bar = string.find(was, '|', 1, true)
    kind = kind or string.sub(was, 1, bar - 1)
    bump(levels, string.sub(was, 1, bar - 1) .. ':' .. string.sub(was, bar + 1), -1)
  end
  if kind and k > 0 then
    bump(levels, kind .. ':' .. k, 1)
    redis.call('HSET', share, 't:' .. client, kind .. '|' .. k)
  elseif was then
    redis.call('HDEL', share, 't:' .. client)
  end
end

-- own counts member against client (of kind), the member held now: O(1).
local function own(share, levels, member, client, kind)
  redis.call('HSET', share, 'm:' .. member, client)
  level(share, levels, client, kind, redis.call('HINCRBY', share, 'c:' .. client, 1))
end

-- unown forgets that member's client holds it: O(1).
local function unown(share, levels, member)
  if not share then
    return
  end
  local client = redis.call('HGET', share, 'm:' .. member)
  if not client then
    return
  end
  redis.call('HDEL', share, 'm:' .. member)
  local k = redis.call('HINCRBY', share, 'c:' .. client, -1)
  if k <= 0 then
    redis.call('HDEL', share, 'c:' .. client)
  end
  level(share, levels, client, nil, math.max(k, 0))
end

-- below_share sums the slots held by clients below their share
-- (domain.SharePolicy.BelowShareHeld): one pass over the levels in use,
-- which the capacity bounds, not the clients.
local function below_share(levels, capacity, reserve, active)
  local sum = 0
  local all = redis.call('HGETALL', levels)
  for i = 1, #all, 2 do
    local colon = string.find(all[i], ':', 1, true)
    local kind, k = string.sub(all[i], 1, colon - 1), tonumber(string.sub(all[i], colon + 1))
    local usable = capacity - reserve
    if string.sub(kind, -1) == 'c' then
      usable, kind = capacity, string.sub(kind, 1, -2)
    end
    local w = tonumber(kind)
    if k < math.max(1, math.floor(usable * w / math.max(active, w))) then
      sum = sum + k * tonumber(all[i + 1])
    end
  end
  return sum
end

-- prune removes the leases that ended by now (ms), and their owners: the
-- slots of a crashed holder come back, and count against nobody.
local function prune(key, share, levels, now)
  local gone = redis.call('ZRANGEBYSCORE', key, '-inf', now)
  if #gone == 0 then
    return
  end
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  for _, m in ipairs(gone) do
    unown(share, levels, m)
  end
end

-- prune_active ends the clients whose window passed by now (ms): one still
-- holding slots counts for another window, the others leave the active
-- weight (and a level an earlier version left them at). Each client is
-- looked at once per window: amortized O(1).
local function prune_active(active, weight, share, levels, now, window)
  local gone = redis.call('ZRANGEBYSCORE', active, '-inf', now)
  for _, m in ipairs(gone) do
    local bar = string.find(m, '|', 1, true)
    local client = string.sub(m, bar + 1)
    if redis.call('HEXISTS', share, 'c:' .. client) == 1 then
      redis.call('ZADD', active, now + window, m)
      redis.call('PEXPIRE', active, window)
      redis.call('PEXPIRE', weight, window)
    else
      level(share, levels, client, nil, 0)
      redis.call('ZREM', active, m)
      if redis.call('DECRBY', weight, tonumber(string.sub(m, 1, bar - 1))) <= 0 then
        redis.call('DEL', weight)
      end
    end
  end
end

-- activate counts member (weight .. '|' .. client) as active for window ms
-- from now, adding its weight when it was not.
local function activate(active, weight, member, now, window)
  if redis.call('ZADD', active, now + window, member) == 1 then
    local bar = string.find(member, '|', 1, true)
    redis.call('INCRBY', weight, tonumber(string.sub(member, 1, bar - 1)))
  end
  redis.call('PEXPIRE', active, window)
  redis.call('PEXPIRE', weight, window)
end

-- raise sets key's TTL to at least ttl ms, never lowering it.
local function raise(key, ttl)
  if redis.call('PTTL', key) < ttl then
    redis.call('PEXPIRE', key, ttl)
  end
end
