--[[
  A worker's heartbeat: keep one entry it is working on, check and extend in one step,
  as BullMQ's extendLock does. Without the script the check (XPENDING) and the extension
  (XCLAIM) were two round trips, and another consumer could take the entry in between.

  KEYS[1] the stream
  ARGV[1] consumer group name
  ARGV[2] this consumer's name
  ARGV[3] the entry ID

  Returns { status, owner }:
    { 'ok', consumer }      still pending and ours: idle time reset (XCLAIM 0 … JUSTID,
                            which does not count a delivery)
    { 'taken', owner }      pending, but another consumer holds it now
    { 'gone', '' }          the entry is no longer in the stream (XDEL, XTRIM/MAXLEN);
                            any pending record of it is dropped
    { 'released', '' }      still in the stream but no longer pending (acknowledged)
]]
local stream, group, consumer, id = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
local present = #redis.call('XRANGE', stream, id, id, 'COUNT', 1) == 1
local row = redis.call('XPENDING', stream, group, id, id, 1)[1]
if not present then
  -- XCLAIM of a deleted entry removes it from the pending list (Redis 7), so a removed
  -- entry never lingers as pending for XAUTOCLAIM to report again.
  if row then redis.call('XCLAIM', stream, group, consumer, 0, id, 'JUSTID') end
  return { 'gone', '' }
end
if not row then return { 'released', '' } end
if row[2] ~= consumer then return { 'taken', row[2] } end
redis.call('XCLAIM', stream, group, consumer, 0, id, 'JUSTID')
return { 'ok', consumer }
