--[[
  Give a partition's lease up, only for its holder (graceful shutdown).

  KEYS[1] lease hash (owner, epoch, since_ms)
  ARGV[1] owner id    ARGV[2] epoch

  Returns 1 when the lease was the caller's and is gone now, 0 when it was not the caller's.
]]
local cur = redis.call('HMGET', KEYS[1], 'owner', 'epoch')
if cur[1] == ARGV[1] and cur[2] == ARGV[2] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
