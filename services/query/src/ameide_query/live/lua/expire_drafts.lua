-- The sweeper: drafts whose agent sent nothing until their deadline are abandoned (reason EXPIRED).
-- KEYS: due_key
-- ARGV: now, limit, prefix, maxlen, stream_ttl, keep
-- Returns how many drafts expired.
local now, prefix = tonumber(ARGV[1]), ARGV[3]
local ids = redis.call('ZRANGE', KEYS[1], '-inf', now, 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[2]))
local expired = 0
for _, draft_id in ipairs(ids) do
  local draft_key = prefix .. 'draft:' .. draft_id
  local found = redis.call('HMGET', draft_key, 's', 'f')
  redis.call('ZREM', KEYS[1], draft_id)
  if found[1] == 'active' or found[1] == 'completing' then
    end_draft(prefix, draft_key, draft_id, found[2], 'abandoned', tonumber(ARGV[6]))
    redis.call('HSET', draft_key, 'x', 2)
    signal(draft_stream(prefix, found[2]), ARGV[4], tonumber(ARGV[5]), 'k', 'da', 'i', draft_id, 'r', 2)
    expired = expired + 1
  end
end
return expired
