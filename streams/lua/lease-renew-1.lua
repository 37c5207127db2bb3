--[[
  Extend a partition's lease, only for its holder (as BullMQ's extendLock does).

  KEYS[1] lease hash (owner, epoch, since_ms)
  ARGV[1] owner id    ARGV[2] epoch    ARGV[3] lease TTL in ms

  Returns {1} when the caller held the lease (its TTL restarts on Redis' clock), else
  {0, owner, epoch} of whoever holds it now ('' when nobody does).
]]
local cur = redis.call('HMGET', KEYS[1], 'owner', 'epoch')
if cur[1] == ARGV[1] and cur[2] == ARGV[2] then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return {1}
end
return {0, cur[1] or '', cur[2] or ''}
