-- Frees exactly the caller's slots. KEYS[1] gate key, KEYS[2] (optional) the
-- share hash; ARGV the slot ids (one per request, or the leases a block-mode
-- instance gives back at once). Returns how many members were removed (0
-- when released twice or expired). share.lua is prepended.
local removed = 0
for _, m in ipairs(ARGV) do
  if redis.call('ZREM', KEYS[1], m) == 1 then
    removed = removed + 1
    unown(KEYS[2], m)
  end
end
return removed
