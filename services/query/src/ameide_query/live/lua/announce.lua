-- AnnouncePresence: one client of a user is viewing (or typing on) a resource, until its deadlines.
-- KEYS: users_key, due_key, stream_key, epoch_key
-- ARGV: now, user, client, state, viewing_ttl, typing_ttl, display_name, tenant, due_member, maxlen, stream_ttl,
--       grace, epoch
-- Returns the user's state after the announcement.
local now, user, client = tonumber(ARGV[1]), ARGV[2], ARGV[3]
local state, viewing_ttl, typing_ttl = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local p = {users_key = KEYS[1], stream_key = KEYS[3], tenant = ARGV[8], maxlen = ARGV[10],
  stream_ttl = tonumber(ARGV[11]), grace = tonumber(ARGV[12])}
ensure_epoch(KEYS[4], ARGV[13])
local user_key = p.users_key .. '\n' .. user
local typing_until = 0
if state == TYPING then typing_until = now + typing_ttl end
redis.call('HSET', user_key, client, (now + viewing_ttl) .. ':' .. typing_until, '~n', ARGV[7])
redis.call('HSETNX', user_key, '~j', now)
local after = apply_user(p, user, now, 0)
file_presence(p, KEYS[2], ARGV[9], viewing_ttl)
return after
