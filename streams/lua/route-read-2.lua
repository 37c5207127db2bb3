--[[
  Read the next ingress entries for the router, only for the holder of the router's lease.

  KEYS[1] the ingress scores stream
  KEYS[2] the router's lease hash (owner, epoch), in the ingress stream's slot
  ARGV[1] owner id    ARGV[2] epoch    ARGV[3] group    ARGV[4] consumer    ARGV[5] count

  The check and the read are one step: a router that lost its lease (paused, then resumed)
  cannot take a single new entry into its pending list once another router holds the
  lease, so every entry delivered to a stale router was delivered before the new one took
  over, and the new one claims it (XAUTOCLAIM) before it reads anything new.
  Refuses with STRATA_FENCED when the caller does not hold the lease. Returns
  {entries, last-generated-id}: entries as XREADGROUP gives them (never blocks here), and
  the stream's last ID, which the caller may wait past (XREAD BLOCK) when nothing came.
]]
local cur = redis.call('HMGET', KEYS[2], 'owner', 'epoch')
if cur[1] ~= ARGV[1] or cur[2] ~= ARGV[2] then
  return redis.error_reply('STRATA_FENCED the router lease is not held by ' .. ARGV[1] .. ' at epoch ' .. ARGV[2])
end
local reply = redis.call('XREADGROUP', 'GROUP', ARGV[3], ARGV[4], 'COUNT', ARGV[5], 'STREAMS', KEYS[1], '>')
local entries = {}
if reply and reply[1] then entries = reply[1][2] end
local last = '0-0'
if #entries == 0 and redis.call('EXISTS', KEYS[1]) == 1 then
  local info = redis.call('XINFO', 'STREAM', KEYS[1])
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then last = info[i + 1] end
  end
end
return {entries, last}
