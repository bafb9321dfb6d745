-- AppendDraft: one delta, applied once (by sequence number) and announced to the chat's subscribers.
-- KEYS: draft_key, due_key
-- ARGV: now, draft_id, tenant, user, seq (0 = the next), text, max_bytes, ttl, prefix, maxlen, stream_ttl, keep
-- Returns {status, last seq}: status 'ok', 'not_found', 'ended', 'gap' or 'too_large'.
local now, draft_id, seq, text = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[5]), ARGV[6]
local ttl, keep = tonumber(ARGV[8]), tonumber(ARGV[12])
local found = redis.call('HMGET', KEYS[1], 't', 'u', 's', 'q', 'f')
if not found[3] or found[1] ~= ARGV[3] or found[2] ~= ARGV[4] then
  return {'not_found', 0}
end
local last = tonumber(found[4])
if found[3] ~= 'active' then
  return {'ended', last}
end
if seq == 0 then seq = last + 1 end
if seq <= last then
  return {'ok', last}
end
if seq > last + 1 then
  return {'gap', last}
end
local text_key = KEYS[1] .. ':text'
if redis.call('STRLEN', text_key) + string.len(text) > tonumber(ARGV[7]) then
  return {'too_large', last}
end
redis.call('APPEND', text_key, text)
redis.call('HSET', KEYS[1], 'q', seq, 'd', now + ttl)
redis.call('ZADD', KEYS[2], now + ttl, draft_id)
redis.call('PEXPIRE', KEYS[1], ttl + keep)
redis.call('PEXPIRE', text_key, ttl + keep)
signal(draft_stream(ARGV[9], found[5]), ARGV[10], tonumber(ARGV[11]), 'k', 'dd', 'i', draft_id, 'q', seq, 'd', text)
return {'ok', seq}
