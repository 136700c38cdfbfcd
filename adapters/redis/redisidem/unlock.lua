-- Deletes a run's lock only while it holds the caller's token, so a run
-- whose lease lapsed cannot free the next run's lock.
-- KEYS[1] the lock; ARGV[1] the caller's token. Returns 1 if deleted, else 0.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
