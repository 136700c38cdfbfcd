-- Frees exactly the caller's slot. KEYS[1] gate key; ARGV[1] slot id.
-- Returns how many members were removed (0 when released twice or expired).
return redis.call('ZREM', KEYS[1], ARGV[1])
