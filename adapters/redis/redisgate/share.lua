-- Shared by the scripts that free or prune slots, prepended to them (see
-- scripts.go): the fair share's bookkeeping beside the gate's sorted set.
-- The share hash holds 'm:' .. member → the client holding that slot, and
-- 'c:' .. client → how many slots it holds (deleted at 0); it lives as long
-- as the leases it describes (its TTL is raised with theirs). The active
-- set holds weight .. '|' .. client, scored by when the client stops
-- counting, and the weight key the sum of their weights; both live as long
-- as the last client's window.

-- unown forgets that member's client holds it: O(1).
local function unown(share, member)
  if not share then
    return
  end
  local client = redis.call('HGET', share, 'm:' .. member)
  if not client then
    return
  end
  redis.call('HDEL', share, 'm:' .. member)
  if redis.call('HINCRBY', share, 'c:' .. client, -1) <= 0 then
    redis.call('HDEL', share, 'c:' .. client)
  end
end

-- prune removes the leases that ended by now (ms), and their owners: the
-- slots of a crashed holder come back, and count against nobody.
local function prune(key, share, now)
  local gone = redis.call('ZRANGEBYSCORE', key, '-inf', now)
  if #gone == 0 then
    return
  end
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  for _, m in ipairs(gone) do
    unown(share, m)
  end
end

-- prune_active ends the clients whose window passed by now (ms): one still
-- holding slots counts for another window, the others leave the active
-- weight. Each client is looked at once per window: amortized O(1).
local function prune_active(active, weight, share, now, window)
  local gone = redis.call('ZRANGEBYSCORE', active, '-inf', now)
  for _, m in ipairs(gone) do
    local bar = string.find(m, '|', 1, true)
    local client = string.sub(m, bar + 1)
    if redis.call('HEXISTS', share, 'c:' .. client) == 1 then
      redis.call('ZADD', active, now + window, m)
      redis.call('PEXPIRE', active, window)
      redis.call('PEXPIRE', weight, window)
    else
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
