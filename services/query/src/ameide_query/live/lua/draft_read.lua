-- One draft as a resynchronising subscriber needs it: its state, and while it is open its text and last seq.
-- KEYS: draft_key
-- Returns {state ('' when gone), agent, user, started, seq, text, message id, message sequence, feed head,
--          abandon reason (1 by the agent, 2 expired)}
local found = redis.call('HMGET', KEYS[1], 's', 'a', 'u', 'j', 'q', 'm', 'w', 'h', 'x')
if not found[1] then
  return {'', '', '', '0', '0', '', '', '0', '0', '0'}
end
local text = ''
if found[1] == 'active' or found[1] == 'completing' then
  text = redis.call('GET', KEYS[1] .. ':text') or ''
end
return {found[1], found[2], found[3], found[4], found[5], text, found[6] or '', found[7] or '0', found[8] or '0',
  found[9] or '0'}
