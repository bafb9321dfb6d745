-- What a new (or resynchronising) subscriber starts from, read atomically with the position of the resource's
-- signal stream: signals after `last id` are changes to this snapshot.
-- KEYS: users_key (the caller's tenant's presence), drafts_key (open drafts; any key for an artifact), stream_key,
--       epoch_key
-- ARGV: the draft key prefix (P .. 'draft:'), '1' to read the open drafts too
-- Returns {epoch, last id, {user, state, name, joined, ...}, {id, agent, user, started, seq, text, ...}}
local epoch = redis.call('GET', KEYS[4]) or ''
local last = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 1)
local last_id = '0-0'
if #last > 0 then last_id = last[1][1] end
local people = {}
for _, user in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local fields = redis.call('HMGET', KEYS[1] .. '\n' .. user, '~s', '~n', '~j')
  if fields[1] then
    table.insert(people, user)
    table.insert(people, fields[1])
    table.insert(people, fields[2] or '')
    table.insert(people, fields[3] or '0')
  end
end
local drafts = {}
local open = {}
if ARGV[2] == '1' then open = redis.call('ZRANGE', KEYS[2], 0, -1) end
for _, id in ipairs(open) do
  local key = ARGV[1] .. id
  local fields = redis.call('HMGET', key, 'a', 'u', 'j', 'q')
  if fields[1] then
    table.insert(drafts, id)
    table.insert(drafts, fields[1])
    table.insert(drafts, fields[2])
    table.insert(drafts, fields[3])
    table.insert(drafts, fields[4])
    table.insert(drafts, redis.call('GET', key .. ':text') or '')
  end
end
return {epoch, last_id, people, drafts}
