-- CompleteDraft failed (the command side refused the message): the draft is open again for the agent.
-- KEYS: draft_key, due_key
-- ARGV: now, draft_id, ttl, keep
local now, ttl = tonumber(ARGV[1]), tonumber(ARGV[3])
if redis.call('HGET', KEYS[1], 's') ~= 'completing' then
  return 0
end
redis.call('HSET', KEYS[1], 's', 'active', 'd', now + ttl)
redis.call('ZADD', KEYS[2], now + ttl, ARGV[2])
redis.call('PEXPIRE', KEYS[1], ttl + tonumber(ARGV[4]))
redis.call('PEXPIRE', KEYS[1] .. ':text', ttl + tonumber(ARGV[4]))
return 1
