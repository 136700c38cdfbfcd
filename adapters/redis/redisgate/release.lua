-- Frees exactly the caller's slots. KEYS[1] gate key; ARGV the slot ids (one
-- per request, or the leases a block-mode instance gives back at once).
-- Returns how many members were removed (0 when released twice or expired).
return redis.call('ZREM', KEYS[1], unpack(ARGV))
