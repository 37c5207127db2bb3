--[[
  The atomic step as it was before the applied-through marks (apply-batch-12.lua), kept as
  the bench's baseline only (streams/atomic-step-pending.ts): apply one batch of scores
  entries, all or nothing, checked against the pending list.

  KEYS[1] scores stream (input)          KEYS[5] backfill stream
  KEYS[2] scores dead-letter stream      KEYS[6] stats hash
  KEYS[3] snapshots hash                 KEYS[7] partition lease hash (owner, epoch)
  KEYS[4] lifecycle stream               KEYS[8] partition step marker (counter)
  KEYS[10] direct scores stream (input)  KEYS[9] partition stream time (ms)
  ARGV[1] consumer group name
  ARGV[2] JSON: { ids = [entry IDs of the scores stream], direct = [entry IDs of the direct stream] (absent: none),
                  lifecycle = [[field, value, ...], ...], backfill = [...], dead = [...],
                  stats = [field, increment, ...],
                  stream_time = greatest event time applied, after this batch (absent: none yet),
                  fence = { owner = lease owner id, epoch = lease epoch, step = marker value expected } }
  ARGV[3..] the changed snapshots as HSET arguments: symbol, snapshot JSON, ...

  Returns the number of entries applied, or 0 when every entry was already acknowledged
  (a batch that was applied before: nothing is written twice).
  Nothing is written unless every entry is still pending in the group, on the stream it
  came from, so a batch is never half applied and never applied twice. The two input
  streams' IDs are independent (the same ID may be in both): each list is checked and
  acknowledged on its own stream.

  Guard (first block): nothing is written unless the caller holds the partition's lease
  (same owner id AND same epoch: error STRATA_FENCED) and the step marker is the value the
  caller expects (error STRATA_STALE: Redis holds other data than the caller has seen, e.g.
  it came back from an older AOF or a lagging replica). A step that passes the guard bumps
  the marker, whatever follows; the caller re-reads it after anything but a full apply.
]]
-- Guard: fencing by lease owner and epoch, then the step marker.
local p = cjson.decode(ARGV[2])
local fence = p.fence
local lease = redis.call('HMGET', KEYS[7], 'owner', 'epoch')
if lease[1] ~= fence.owner or lease[2] ~= fence.epoch then
  return redis.error_reply('STRATA_FENCED the lease is held by ' .. (lease[1] or 'nobody') .. ' epoch ' ..
    (lease[2] or '-') .. ', not by ' .. fence.owner .. ' epoch ' .. fence.epoch)
end
local marker = redis.call('GET', KEYS[8]) or '0'
if marker ~= fence.step then
  return redis.error_reply('STRATA_STALE the step marker is ' .. marker .. ', the owner expected ' .. fence.step)
end
redis.call('INCR', KEYS[8])
-- End of the guard.

local ids = p.ids
local direct = p.direct or {}
local n = #ids + #direct
if n == 0 then return 0 end

-- How many of a stream's entries in this batch are still pending? (IDs ascend per stream.)
local function pending_of(stream, list)
  if #list == 0 then return 0 end
  local still = {}
  for _, e in ipairs(redis.call('XPENDING', stream, ARGV[1], list[1], list[#list], #list)) do still[e[1]] = true end
  local found = 0
  for _, id in ipairs(list) do if still[id] then found = found + 1 end end
  return found
end
local found = pending_of(KEYS[1], ids) + pending_of(KEYS[10], direct)
if found == 0 then return 0 end
if found ~= n then
  return redis.error_reply('STRATA_PARTIAL batch has ' .. (n - found) .. ' of ' .. n .. ' entries already acknowledged')
end

local CHUNK = 1000
local function each_chunk(list, fn)
  for i = 1, #list, CHUNK do fn(unpack(list, i, math.min(i + CHUNK - 1, #list))) end
end

for i = 3, #ARGV, CHUNK do
  redis.call('HSET', KEYS[3], unpack(ARGV, i, math.min(i + CHUNK - 1, #ARGV)))
end
for _, fields in ipairs(p.lifecycle) do redis.call('XADD', KEYS[4], '*', unpack(fields)) end
for _, fields in ipairs(p.backfill) do redis.call('XADD', KEYS[5], '*', unpack(fields)) end
for _, fields in ipairs(p.dead) do redis.call('XADD', KEYS[2], '*', unpack(fields)) end
for i = 1, #p.stats, 2 do redis.call('HINCRBY', KEYS[6], p.stats[i], p.stats[i + 1]) end
if p.stream_time then redis.call('SET', KEYS[9], p.stream_time) end
each_chunk(ids, function(...) redis.call('XACK', KEYS[1], ARGV[1], ...) end)
each_chunk(direct, function(...) redis.call('XACK', KEYS[10], ARGV[1], ...) end)
return n
