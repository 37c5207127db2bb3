--[[
  Trim a stream up to a MINID the caller computed (streams/trim-bound.ts), after checking
  again, at this instant, that no consumer group and no archive mark still needs an entry
  below it. Between the caller's reading and this script a group can only move forward,
  unless someone creates a group or moves one back (XGROUP CREATE / SETID): the check
  catches exactly that, so an entry a group has not read or still has pending is never
  removed, whoever is racing the trim.

  KEYS[1] the stream
  KEYS[2] archive mark (string: greatest entry ID archived and verified); read only when ARGV[2] is '1'
  KEYS[3] trim record hash (fields <name>:last_at, <name>:last_removed, <name>:removed, <name>:dropped)
  ARGV[1] MINID: entries with a smaller ID are removed (exact trimming, never '~')
  ARGV[2] '1' when the archive mark (KEYS[2]) bounds the stream; '2' when the mark the
          caller read (ARGV[5]) does: a mark in another Cluster slot, which only moves
          forward, so the caller's earlier reading is never above it
  ARGV[3] the stream's name in the record hash (scores, lifecycle, backfill, scores_dead, ...)
  ARGV[4] '1' when removed entries are dropped dead letters (also counted as <name>:dropped)
  ARGV[5] the mark the caller read when ARGV[2] is '2' ('' when there is none), else ''
  ARGV[6..] groups that must exist

  Returns { removed, refusal }: refusal is '' when the trim ran, else what held it back
  ('missing group <g>', 'group <g> unread', 'group <g> pending', 'archive'); nothing is
  written on a refusal.
]]
local stream, minid = KEYS[1], ARGV[1]

-- Entry IDs as {ms, seq} decimal strings, compared without float rounding.
local function parts(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  if not ms then ms, seq = string.match(id, '^(%d+)$'), '0' end
  return ms, seq
end
local function cmpnum(a, b)
  if #a ~= #b then return #a < #b and -1 or 1 end
  if a == b then return 0 end
  return a < b and -1 or 1
end
local function cmp(a, b)
  local am, as = parts(a)
  local bm, bs = parts(b)
  local c = cmpnum(am, bm)
  if c ~= 0 then return c end
  return cmpnum(as, bs)
end
-- Whether the stream holds an entry strictly between `after` and `minid`: one that is
-- above the position `after` (a group's last-delivered-id, the archive mark) yet would go.
local function held_between(after)
  if cmp(after, minid) >= 0 then return false end
  return #redis.call('XRANGE', stream, '(' .. after, '(' .. minid, 'COUNT', 1) > 0
end

local groups = redis.call('XINFO', 'GROUPS', stream)
local seen = {}
for _, g in ipairs(groups) do
  local info = {}
  for i = 1, #g, 2 do info[g[i]] = g[i + 1] end
  local name = info['name']
  seen[name] = true
  if held_between(info['last-delivered-id']) then return { 0, 'group ' .. name .. ' unread' } end
  if tonumber(info['pending']) > 0 then
    local summary = redis.call('XPENDING', stream, name)
    if summary[2] and cmp(summary[2], minid) < 0 then return { 0, 'group ' .. name .. ' pending' } end
  end
end
for i = 6, #ARGV do
  if not seen[ARGV[i]] then return { 0, 'missing group ' .. ARGV[i] } end
end
if ARGV[2] == '1' or ARGV[2] == '2' then
  local mark = ARGV[2] == '1' and redis.call('GET', KEYS[2]) or ARGV[5]
  if not mark or mark == '' or held_between(mark) then return { 0, 'archive' } end
end

local removed = redis.call('XTRIM', stream, 'MINID', minid)
if removed > 0 then
  local now = redis.call('TIME')
  local name = ARGV[3]
  redis.call('HSET', KEYS[3], name .. ':last_at', tostring(tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)), name .. ':last_removed', removed)
  redis.call('HINCRBY', KEYS[3], name .. ':removed', removed)
  if ARGV[4] == '1' then redis.call('HINCRBY', KEYS[3], name .. ':dropped', removed) end
end
return { removed, '' }
