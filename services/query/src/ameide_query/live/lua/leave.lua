-- LeavePresence: one client of a user left the resource (the user leaves with their last client).
-- KEYS: users_key, due_key, stream_key, epoch_key
-- ARGV: now, user, client, tenant, due_member, maxlen, stream_ttl, grace, epoch, viewing_ttl
local now, user, client = tonumber(ARGV[1]), ARGV[2], ARGV[3]
local p = {users_key = KEYS[1], stream_key = KEYS[3], tenant = ARGV[4], maxlen = ARGV[6],
  stream_ttl = tonumber(ARGV[7]), grace = tonumber(ARGV[8])}
ensure_epoch(KEYS[4], ARGV[9])
local user_key = p.users_key .. '\n' .. user
if redis.call('HDEL', user_key, client) == 0 then
  return 0
end
apply_user(p, user, now, 0)
file_presence(p, KEYS[2], ARGV[5], tonumber(ARGV[10]))
return 1
