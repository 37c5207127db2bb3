--[[
  End the caller's membership at once (graceful shutdown), with its start and mark.

  KEYS[1] sorted set: member -> membership end    KEYS[2] hash: member -> start
  KEYS[3] set: founding members                   ARGV[1] the caller's owner id

  Returns 1 when the caller was a member.
]]
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[1])
return redis.call('ZREM', KEYS[1], ARGV[1])
