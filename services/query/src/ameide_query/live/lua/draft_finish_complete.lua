-- CompleteDraft, second half: the message is stored; remember the answer and tell the subscribers (once, even
-- when two calls completed the same draft: the command side's idempotency made them the same message).
-- KEYS: draft_key
-- ARGV: draft_id, answer, message_id, message_sequence, feed head, prefix, maxlen, stream_ttl, keep
-- Returns 1 when this call announced the completion, 0 when another one already had.
local draft_id, prefix = ARGV[1], ARGV[6]
local found = redis.call('HMGET', KEYS[1], 's', 'f')
if found[1] == 'completed' then
  return 0
end
if not found[1] then
  return 0
end
end_draft(prefix, KEYS[1], draft_id, found[2], 'completed', tonumber(ARGV[9]))
redis.call('HSET', KEYS[1], 'r', ARGV[2], 'm', ARGV[3], 'w', ARGV[4], 'h', ARGV[5])
signal(draft_stream(prefix, found[2]), ARGV[7], tonumber(ARGV[8]), 'k', 'dc', 'i', draft_id, 'm', ARGV[3],
  'w', ARGV[4], 'h', ARGV[5])
return 1
