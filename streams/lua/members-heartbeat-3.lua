--[[
  Renew the caller's membership of the install, or make it a member, and list the members.

  KEYS[1] sorted set: member -> membership end (Redis TIME, ms)
  KEYS[2] hash: member -> membership start (Redis TIME, ms)
  KEYS[3] set: founding members (given partitions before their join debounce)
  ARGV[1] the caller's owner id
  ARGV[2] membership TTL in ms
  ARGV[3] join debounce in ms

  Members whose end is at or before now are removed first, so an expired caller comes
  back as a new member. A new member's start is now; it is founding when no live member
  is settled (start + debounce <= now), which is how engines started together all count
  at once. Should no live member count at all (the settled ones expired), every live
  member is marked founding, so every partition keeps someone to take it.
  The keys expire with the last membership, so an install nobody runs leaves nothing.
  Every time is Redis' own clock (TIME), never a client's.

  Returns {now_ms, member, start_ms, founding (0/1), member, start_ms, founding, ...} of the
  live members, ordered by membership end.
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
local debounce = tonumber(ARGV[3])

local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for i = 1, #gone do
  redis.call('ZREM', KEYS[1], gone[i])
  redis.call('HDEL', KEYS[2], gone[i])
  redis.call('SREM', KEYS[3], gone[i])
end

local settled = function(start) return start ~= false and tonumber(start) + debounce <= now end

if redis.call('ZSCORE', KEYS[1], ARGV[1]) == false then
  local anySettled = false
  local live = redis.call('ZRANGE', KEYS[1], 0, -1)
  for i = 1, #live do
    if settled(redis.call('HGET', KEYS[2], live[i])) then anySettled = true break end
  end
  -- Overwrite, not HSETNX: a start left by an earlier membership is not this one's.
  redis.call('HSET', KEYS[2], ARGV[1], now)
  if anySettled then redis.call('SREM', KEYS[3], ARGV[1]) else redis.call('SADD', KEYS[3], ARGV[1]) end
elseif redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then
  redis.call('HSET', KEYS[2], ARGV[1], now)
end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])

local live = redis.call('ZRANGE', KEYS[1], 0, -1)
local starts = redis.call('HMGET', KEYS[2], unpack(live))
local counts = false
for i = 1, #live do
  if settled(starts[i]) or redis.call('SISMEMBER', KEYS[3], live[i]) == 1 then counts = true break end
end
if not counts then
  for i = 1, #live do redis.call('SADD', KEYS[3], live[i]) end
end

local out = {now}
for i = 1, #live do
  out[#out + 1] = live[i]
  out[#out + 1] = starts[i] or tostring(now)
  out[#out + 1] = redis.call('SISMEMBER', KEYS[3], live[i])
end

local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
for i = 1, 3 do redis.call('PEXPIREAT', KEYS[i], last[2]) end
return out
