-- The sweeper: every presence with a change due (a client's viewing or typing deadline passed) is recomputed,
-- and LEFT / TYPING_STOPPED published for the users it concerns (expired = 1).
-- KEYS: due_key
-- ARGV: now, limit, prefix, maxlen, stream_ttl, grace, viewing_ttl
-- Returns how many presences were settled.
local now, prefix = tonumber(ARGV[1]), ARGV[3]
local members = redis.call('ZRANGE', KEYS[1], '-inf', now, 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(members) do
  local newline = string.find(member, '\n', 1, true)
  local feed, tenant = string.sub(member, 1, newline - 1), string.sub(member, newline + 1)
  local p = {users_key = prefix .. 'presence:' .. member, stream_key = prefix .. 'signals:' .. feed,
    tenant = tenant, maxlen = ARGV[4], stream_ttl = tonumber(ARGV[5]), grace = tonumber(ARGV[6])}
  local users = redis.call('ZRANGE', p.users_key, '-inf', now, 'BYSCORE')
  for _, user in ipairs(users) do
    apply_user(p, user, now, 1)
  end
  file_presence(p, KEYS[1], member, tonumber(ARGV[7]))
end
return #members
