--[[
  Take a partition's lease, or say who holds it.

  KEYS[1] lease hash (owner, epoch, since_ms), with a TTL
  KEYS[2] epoch counter (only grows)
  ARGV[1] owner id of the caller
  ARGV[2] lease TTL in ms

  Returns {1, epoch} when the caller holds the lease now: a free lease gets the next epoch
  (INCR), one the caller already holds keeps its epoch and gets a fresh TTL.
  Returns {0, owner, epoch, pttl} when another owner holds it.
  Expiry is Redis' own clock (PEXPIRE); since_ms is Redis TIME, for the operator.
]]
local cur = redis.call('HMGET', KEYS[1], 'owner', 'epoch')
if cur[1] then
  if cur[1] == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return {1, cur[2]}
  end
  return {0, cur[1], cur[2] or '', redis.call('PTTL', KEYS[1])}
end
local epoch = redis.call('INCR', KEYS[2])
local t = redis.call('TIME')
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'epoch', epoch, 'since_ms', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {1, tostring(epoch)}
