-- AbandonDraft: the agent gives up; the chat's subscribers remove the draft.
-- KEYS: draft_key
-- ARGV: draft_id, tenant, user, detail, prefix, maxlen, stream_ttl, keep
-- Returns 'ok', 'not_found' or 'ended' (completed, or being completed).
local draft_id, prefix = ARGV[1], ARGV[5]
local found = redis.call('HMGET', KEYS[1], 't', 'u', 's', 'f')
if not found[3] or found[1] ~= ARGV[2] or found[2] ~= ARGV[3] then
  return 'not_found'
end
if found[3] == 'abandoned' then
  return 'ok'
end
if found[3] ~= 'active' then
  return 'ended'
end
end_draft(prefix, KEYS[1], draft_id, found[4], 'abandoned', tonumber(ARGV[8]))
redis.call('HSET', KEYS[1], 'x', 1)
signal(draft_stream(prefix, found[4]), ARGV[6], tonumber(ARGV[7]), 'k', 'da', 'i', draft_id, 'r', 1, 'e', ARGV[4])
return 'ok'
