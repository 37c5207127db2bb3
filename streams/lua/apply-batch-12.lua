--[[
  The atomic step: apply one batch of scores entries, all or nothing.

  KEYS[1] scores stream (input)          KEYS[7] partition lease hash (owner, epoch)
  KEYS[2] scores dead-letter stream      KEYS[8] partition step marker (counter)
  KEYS[3] snapshots hash                 KEYS[9] partition stream time (ms)
  KEYS[4] lifecycle stream               KEYS[10] direct scores stream (input)
  KEYS[5] backfill stream                KEYS[11] applied-through mark of KEYS[1]
  KEYS[6] stats hash                     KEYS[12] applied-through mark of KEYS[10]
  ARGV[1] consumer group name
  ARGV[2] JSON: { ids = [entry IDs of the scores stream, ascending], direct = [the same of the direct stream] (absent: none),
                  shapes = [[field name, ...], ...] (absent: every output row is a plain field list),
                  lifecycle = [row, ...], backfill = [row, ...], dead = [row, ...],
                    a row: [shape index (0-based), value, ...] with shapes, else [field, value, ...],
                  stats = [field, increment, ...],
                  stream_time = greatest event time applied, after this batch (absent: none yet),
                  fence = { owner = lease owner id, epoch = lease epoch, step = marker value expected } }
  ARGV[3..] the changed snapshots as HSET arguments: symbol, snapshot JSON, ...

  Returns the number of entries applied, or 0 when every entry was applied before.

  Applied-through marks: each input stream has one, the greatest of its entry IDs a step
  applied. A partition's group hands its entries over in ID order, per stream (streams/
  consumer.ts), so every entry above the mark is one no step applied, and every entry at
  or below it was applied (or is an ID the stream will never hold again). A batch whose
  entries are all above the marks is applied and moves the marks to its last IDs; one
  whose entries are all at or below them is acknowledged and nothing else is written
  (returns 0); a batch that mixes both is refused with STRATA_PARTIAL after its entries
  at or below a mark are acknowledged, so the caller's next read of the pending entries
  holds only the others. The two input streams' IDs are independent (the same ID may be
  in both): each list is compared with its own stream's mark and acknowledged there.
  IDs are compared as Redis writes them (no leading zeros): by length, then as text.

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

local CHUNK = 1000
-- fn over list[1..last] (all of it by default), CHUNK at a time: unpack is bounded by Lua's stack.
local function each_chunk(list, fn, last)
  last = last or #list
  for i = 1, last, CHUNK do fn(unpack(list, i, math.min(i + CHUNK - 1, last))) end
end

-- Whether entry ID a is at or below entry ID b.
local function at_or_below(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  if #am ~= #bm then return #am < #bm end
  if am ~= bm then return am < bm end
  if #as ~= #bs then return #as < #bs end
  return as <= bs
end

-- The batch's entries of one stream against its mark: how many are at or below it (IDs ascend).
local function applied_of(list, mark_key)
  if #list == 0 then return 0 end
  local mark = redis.call('GET', mark_key)
  if not mark or not at_or_below(list[1], mark) then return 0 end
  if at_or_below(list[#list], mark) then return #list end
  local k = 0
  while k < #list and at_or_below(list[k + 1], mark) do k = k + 1 end
  return k
end
local done_scores = applied_of(ids, KEYS[11])
local done_direct = applied_of(direct, KEYS[12])
if done_scores + done_direct > 0 then
  -- Applied before: acknowledged again (a redelivery may have put them back in the pending list), never re-applied.
  each_chunk(ids, function(...) redis.call('XACK', KEYS[1], ARGV[1], ...) end, done_scores)
  each_chunk(direct, function(...) redis.call('XACK', KEYS[10], ARGV[1], ...) end, done_direct)
  if done_scores + done_direct == n then return 0 end
  return redis.error_reply('STRATA_PARTIAL batch has ' .. (done_scores + done_direct) .. ' of ' .. n ..
    ' entries at or below the applied-through mark: those acknowledged, nothing applied')
end

for i = 3, #ARGV, CHUNK do
  redis.call('HSET', KEYS[3], unpack(ARGV, i, math.min(i + CHUNK - 1, #ARGV)))
end
local shapes = p.shapes
local function xadd_rows(key, rows)
  if shapes then
    for _, row in ipairs(rows) do
      local names = shapes[row[1] + 1]
      local args = {}
      for j = 1, #names do args[2 * j - 1] = names[j]; args[2 * j] = row[j + 1] end
      redis.call('XADD', key, '*', unpack(args))
    end
  else
    for _, fields in ipairs(rows) do redis.call('XADD', key, '*', unpack(fields)) end
  end
end
xadd_rows(KEYS[4], p.lifecycle)
xadd_rows(KEYS[5], p.backfill)
xadd_rows(KEYS[2], p.dead)
for i = 1, #p.stats, 2 do redis.call('HINCRBY', KEYS[6], p.stats[i], p.stats[i + 1]) end
if p.stream_time then redis.call('SET', KEYS[9], p.stream_time) end
if #ids > 0 then redis.call('SET', KEYS[11], ids[#ids]) end
if #direct > 0 then redis.call('SET', KEYS[12], direct[#direct]) end
each_chunk(ids, function(...) redis.call('XACK', KEYS[1], ARGV[1], ...) end)
each_chunk(direct, function(...) redis.call('XACK', KEYS[10], ARGV[1], ...) end)
return n
