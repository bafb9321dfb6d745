-- Shared by every live-signal script (prepended to each by ameide_query.live.scripts).
--
-- Key layout (ameide_query.live.keys says the same in Python); P is the key prefix, "\n" separates parts that
-- come from clients (user and tenant ids are printable, so they never contain it):
--   P .. 'signals:' .. feed                  stream of the signals of a chat or artifact (the live reader follows it)
--   P .. 'presence:' .. feed .. '\n' .. tenant   zset: user -> when their state changes next (ms)
--   ... .. '\n' .. user                      hash: client -> '<viewing deadline>:<typing deadline>' (ms), and the
--                                            user's own fields '~s' (state last published), '~n' (display name),
--                                            '~j' (joined at, ms)
--   P .. 'presence:due'                      zset: feed .. '\n' .. tenant -> earliest change of that presence
--   P .. 'draft:' .. id                      hash: c chat, f feed, t tenant, u user, a agent, s state, q last seq,
--                                            j started (ms), d deadline (ms), r completion answer, m/w message
--   P .. 'draft:' .. id .. ':text'           the draft's text so far
--   P .. 'drafts:' .. feed                   zset: open drafts of a chat, by start time
--   P .. 'drafts:due'                        zset: draft id -> deadline (ms)
--   P .. 'epoch'                             a value that changes only when Redis lost its data

local VIEWING, TYPING = 1, 2
local JOINED, LEFT, TYPING_STARTED, TYPING_STOPPED = 1, 2, 3, 4

-- Append one signal to a resource's stream (trimmed, and gone some time after its last signal).
local function signal(stream_key, maxlen, ttl_ms, ...)
  redis.call('XADD', stream_key, 'MAXLEN', '~', maxlen, '*', ...)
  redis.call('PEXPIRE', stream_key, ttl_ms)
end

local function ensure_epoch(epoch_key, fresh)
  redis.call('SET', epoch_key, fresh, 'NX')
end

-- The user's state from their clients' deadlines, dropping expired clients: state (0 gone, VIEWING, TYPING),
-- when it changes next (ms), and the latest viewing deadline.
local function settle_clients(user_key, now)
  local fields = redis.call('HGETALL', user_key)
  local viewing_until, typing_until, clients = 0, 0, 0
  for i = 1, #fields, 2 do
    local client = fields[i]
    if string.byte(client, 1) ~= 126 then -- '~' starts the user's own fields
      local value = fields[i + 1]
      local colon = string.find(value, ':', 1, true)
      local viewing = tonumber(string.sub(value, 1, colon - 1))
      local typing = tonumber(string.sub(value, colon + 1))
      if viewing <= now then
        redis.call('HDEL', user_key, client)
      else
        clients = clients + 1
        if viewing > viewing_until then viewing_until = viewing end
        if typing > now and typing > typing_until then typing_until = typing end
      end
    end
  end
  if clients == 0 then return 0, 0, 0 end
  if typing_until > 0 then return TYPING, typing_until, viewing_until end
  return VIEWING, viewing_until, viewing_until
end

-- Recompute one user of a presence, publish what changed for them, and file their next change.
-- p: {users_key, stream_key, tenant, maxlen, stream_ttl, grace}
local function apply_user(p, user, now, expired)
  local user_key = p.users_key .. '\n' .. user
  local before = tonumber(redis.call('HGET', user_key, '~s') or '0')
  local after, next_at, viewing_until = settle_clients(user_key, now)
  local kind = nil
  if before == 0 and after > 0 then kind = JOINED
  elseif before > 0 and after == 0 then kind = LEFT
  elseif before == VIEWING and after == TYPING then kind = TYPING_STARTED
  elseif before == TYPING and after == VIEWING then kind = TYPING_STOPPED
  end
  if kind ~= nil then
    local shown = after
    if kind == LEFT then shown = before end
    local name = redis.call('HGET', user_key, '~n') or ''
    local joined = redis.call('HGET', user_key, '~j') or '0'
    signal(p.stream_key, p.maxlen, p.stream_ttl, 'k', 'pc', 't', p.tenant, 'u', user, 'c', kind, 's', shown,
      'n', name, 'j', joined, 'e', expired)
  end
  if after == 0 then
    redis.call('DEL', user_key)
    redis.call('ZREM', p.users_key, user)
  else
    redis.call('HSET', user_key, '~s', after)
    redis.call('ZADD', p.users_key, next_at, user)
    redis.call('PEXPIRE', user_key, viewing_until - now + p.grace)
  end
  return after
end

-- File the presence's earliest change with the sweeper, or forget the presence when nobody is left.
local function file_presence(p, due_key, member, viewing_ttl)
  local first = redis.call('ZRANGE', p.users_key, 0, 0, 'WITHSCORES')
  if #first == 0 then
    redis.call('ZREM', due_key, member)
    redis.call('DEL', p.users_key)
  else
    redis.call('ZADD', due_key, first[2], member)
    redis.call('PEXPIRE', p.users_key, viewing_ttl + p.grace)
  end
end

-- Where a draft's signals go (from its hash's feed field).
local function draft_stream(prefix, feed)
  return prefix .. 'signals:' .. feed
end

-- Ends an open draft: state, text dropped, out of the chat's open drafts and the sweeper's list, kept `keep` ms.
local function end_draft(prefix, draft_key, draft_id, feed, state, keep)
  redis.call('HSET', draft_key, 's', state)
  redis.call('DEL', draft_key .. ':text')
  redis.call('ZREM', prefix .. 'drafts:' .. feed, draft_id)
  redis.call('ZREM', prefix .. 'drafts:due', draft_id)
  redis.call('PEXPIRE', draft_key, keep)
end
