-- CompleteDraft, first half: freeze the draft (no more deltas) while its message is sent, or answer the stored
-- completion. A completion left half-done (the process died) is taken up again by the next call.
-- KEYS: draft_key, due_key
-- ARGV: now, draft_id, tenant, user, hold (ms the sending may take before the sweeper expires the draft), keep
-- Returns {status, value, chat}: 'sending' with the text, 'completed' with the stored answer, 'not_found',
-- 'ended' (abandoned) or 'empty'.
local now, draft_id = tonumber(ARGV[1]), ARGV[2]
local found = redis.call('HMGET', KEYS[1], 't', 'u', 's', 'r', 'c')
if not found[3] or found[1] ~= ARGV[3] or found[2] ~= ARGV[4] then
  return {'not_found', '', ''}
end
if found[3] == 'completed' then
  return {'completed', found[4], found[5]}
end
if found[3] == 'abandoned' then
  return {'ended', '', ''}
end
local text = redis.call('GET', KEYS[1] .. ':text') or ''
if text == '' then
  return {'empty', '', ''}
end
local hold = tonumber(ARGV[5])
redis.call('HSET', KEYS[1], 's', 'completing', 'd', now + hold)
redis.call('ZADD', KEYS[2], now + hold, draft_id)
redis.call('PEXPIRE', KEYS[1], hold + tonumber(ARGV[6]))
redis.call('PEXPIRE', KEYS[1] .. ':text', hold + tonumber(ARGV[6]))
return {'sending', text, found[5]}
