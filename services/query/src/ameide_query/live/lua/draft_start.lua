-- StartDraft: open a draft (announced to the chat's subscribers), or find the caller's open one again.
-- KEYS: draft_key, drafts_key (the chat's open drafts), due_key, stream_key, epoch_key
-- ARGV: now, draft_id, chat_id, feed, tenant, user, agent, ttl, maxlen, stream_ttl, keep, epoch
-- Returns {status, last seq, deadline}: status 'active', 'completing', 'completed', 'abandoned' or 'reused'.
local now, draft_id, ttl, keep = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[8]), tonumber(ARGV[11])
local found = redis.call('HMGET', KEYS[1], 'c', 't', 'u', 'a', 's', 'q', 'd')
if found[5] then
  if found[1] ~= ARGV[3] or found[2] ~= ARGV[5] or found[3] ~= ARGV[6] or found[4] ~= ARGV[7] then
    return {'reused', 0, 0}
  end
  if found[5] ~= 'active' then
    return {found[5], tonumber(found[6]), tonumber(found[7])}
  end
  redis.call('HSET', KEYS[1], 'd', now + ttl)
  redis.call('ZADD', KEYS[3], now + ttl, draft_id)
  redis.call('PEXPIRE', KEYS[1], ttl + keep)
  redis.call('PEXPIRE', KEYS[1] .. ':text', ttl + keep)
  return {'active', tonumber(found[6]), now + ttl}
end
ensure_epoch(KEYS[5], ARGV[12])
redis.call('HSET', KEYS[1], 'c', ARGV[3], 'f', ARGV[4], 't', ARGV[5], 'u', ARGV[6], 'a', ARGV[7], 's', 'active',
  'q', 0, 'j', now, 'd', now + ttl)
redis.call('PEXPIRE', KEYS[1], ttl + keep)
redis.call('ZADD', KEYS[2], now, draft_id)
redis.call('PEXPIRE', KEYS[2], ttl + keep)
redis.call('ZADD', KEYS[3], now + ttl, draft_id)
signal(KEYS[4], ARGV[9], tonumber(ARGV[10]), 'k', 'ds', 'i', draft_id, 'a', ARGV[7], 'u', ARGV[6], 'j', now)
return {'active', 0, now + ttl}
