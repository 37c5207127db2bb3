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
                            its pending record is left for the caller to acknowledge
    { 'released', '' }      still in the stream but no longer pending (acknowledged)
]]
local stream, group, consumer, id = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
local present = #redis.call('XRANGE', stream, id, id, 'COUNT', 1) == 1
local row = redis.call('XPENDING', stream, group, id, id, 1)[1]
-- Gone: no XCLAIM (on a deleted entry it drops the pending record); the record tells
-- other readers the entry is still being settled until the caller acknowledges it.
if not present then return { 'gone', '' } end
if not row then return { 'released', '' } end
if row[2] ~= consumer then return { 'taken', row[2] } end
redis.call('XCLAIM', stream, group, consumer, 0, id, 'JUSTID')
return { 'ok', consumer }
