--[[
  Copy a batch of ingress entries into one partition's scores stream, under their own IDs,
  for the router of the given epoch (src/engine/router.ts).

  KEYS[1] the partition's scores stream
  KEYS[2] the partition's router fence (counter: the greatest router epoch that copied here)
  ARGV[1] the router's epoch
  ARGV[2..] per entry, in ascending ID order: id, number of field/value strings n, then n strings

  A fence above the epoch refuses the whole batch (STRATA_FENCED: a newer router has copied
  here; nothing is written). Otherwise the fence becomes the epoch and each entry is added
  with XADD under its ID, except an ID at or below the stream's last generated ID: that
  entry was copied before (a copy whose acknowledgement a crash lost), so it is skipped and
  a repeated copy is a no-op, never an error or a duplicate.
  Returns {copied, skipped}.
]]
local epoch = tonumber(ARGV[1])
local fence = tonumber(redis.call('GET', KEYS[2]) or '0')
if fence > epoch then
  return redis.error_reply('STRATA_FENCED router epoch ' .. ARGV[1] .. ' is below the fence ' .. tostring(fence) .. ' of ' .. KEYS[1])
end
if fence < epoch then redis.call('SET', KEYS[2], ARGV[1]) end

-- IDs compare as two decimal integers; as text (length first), so no ID loses precision.
local function less_or_equal(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  if #am ~= #bm then return #am < #bm end
  if am ~= bm then return am < bm end
  if #as ~= #bs then return #as < #bs end
  return as <= bs
end

local last = '0-0'
if redis.call('EXISTS', KEYS[1]) == 1 then
  local info = redis.call('XINFO', 'STREAM', KEYS[1])
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then last = info[i + 1] end
  end
end

local copied, skipped = 0, 0
local i = 2
while i <= #ARGV do
  local id = ARGV[i]
  local n = tonumber(ARGV[i + 1])
  if less_or_equal(id, last) then
    skipped = skipped + 1
  else
    redis.call('XADD', KEYS[1], id, unpack(ARGV, i + 2, i + 1 + n))
    last = id
    copied = copied + 1
  end
  i = i + 2 + n
end
return {copied, skipped}
