-- Frees exactly the caller's slots. KEYS[1] gate key, KEYS[2] and KEYS[3]
-- (optional) the share hash and its levels; ARGV the slot ids (one per request, or the leases a block-mode
-- instance gives back at once). Returns how many members were removed (0
-- when released twice or expired). share.lua is prepended.
local removed = 0
for _, m in ipairs(ARGV) do
  if redis.call('ZREM', KEYS[1], m) == 1 then
    removed = removed + 1
    unown(KEYS[2], KEYS[3], m)
  end
end
return removed
