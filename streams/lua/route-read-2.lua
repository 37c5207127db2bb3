--[[
  Take ingress entries for the router, only for the holder of the router's lease: the next
  new ones, or a takeover of the lowest pending ones, whichever consumer holds them.

  KEYS[1] the ingress scores stream
  KEYS[2] the router's lease hash (owner, epoch), in the ingress stream's slot
  ARGV[1] owner id    ARGV[2] epoch    ARGV[3] group    ARGV[4] consumer    ARGV[5] count
  ARGV[6] 'new' (XREADGROUP '>', never blocking here) or 'pending' (XAUTOCLAIM from 0,
          no idle time required: the caller holds the lease, every other router is fenced)

  The check and the read are one step: a router that lost its lease (paused, then resumed)
  cannot take a single entry into its pending list once another router holds the lease,
  so every entry delivered to a stale router was delivered before the new one took over,
  and the new one takes it over before it reads anything new.
  Refuses with STRATA_FENCED when the caller does not hold the lease. Returns
  {entries, last-generated-id, removed}: entries in ascending ID order; the stream's last
  ID when a 'new' read found nothing ('0-0' otherwise), which the caller may wait past
  (XREAD BLOCK); for 'pending', the IDs that were pending but are gone from the stream.
]]
local cur = redis.call('HMGET', KEYS[2], 'owner', 'epoch')
if cur[1] ~= ARGV[1] or cur[2] ~= ARGV[2] then
  return redis.error_reply('STRATA_FENCED the router lease is not held by ' .. ARGV[1] .. ' at epoch ' .. ARGV[2])
end
if ARGV[6] == 'pending' then
  local r = redis.call('XAUTOCLAIM', KEYS[1], ARGV[3], ARGV[4], 0, '0-0', 'COUNT', ARGV[5])
  return {r[2], '0-0', r[3] or {}}
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
return {entries, last, {}}
