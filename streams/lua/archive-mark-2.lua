--[[
  Advance the scores archive's mark, only for the holder of the lease beside it (partition
  0's in an install of one partition, the router's in a partitioned one), only forward.

  KEYS[1] that lease's hash (owner, epoch)
  KEYS[2] the mark (string: the greatest scores entry ID archived and verified)
  ARGV[1] owner id    ARGV[2] epoch    ARGV[3] the new mark (an entry ID "ms-seq")

  Returns 1 when the mark now is ARGV[3], 0 when it already was at or past it.
  Error STRATA_FENCED when the caller does not hold the lease (same owner AND epoch): a
  former owner that was paused past its lease never moves the mark.
]]
local lease = redis.call('HMGET', KEYS[1], 'owner', 'epoch')
if lease[1] ~= ARGV[1] or lease[2] ~= ARGV[2] then
  return redis.error_reply('STRATA_FENCED the lease is held by ' .. (lease[1] or 'nobody') .. ' epoch ' ..
    (lease[2] or '-') .. ', not by ' .. ARGV[1] .. ' epoch ' .. ARGV[2])
end
-- Entry IDs compare as two unsigned integers; as decimal strings without leading zeros,
-- the longer is greater, else the lexical order decides (no float rounding of 64-bit parts).
local function part(id, n)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  if n == 1 then return ms end
  return seq
end
local function less(a, b)
  if #a ~= #b then return #a < #b end
  return a < b
end
local function idLess(a, b)
  local am, bm = part(a, 1), part(b, 1)
  if am ~= bm then return less(am, bm) end
  return less(part(a, 2), part(b, 2))
end
if not string.match(ARGV[3], '^%d+-%d+$') then
  return redis.error_reply('STRATA_BAD_MARK ' .. ARGV[3])
end
local cur = redis.call('GET', KEYS[2])
if cur and not idLess(cur, ARGV[3]) then return 0 end
redis.call('SET', KEYS[2], ARGV[3])
return 1
