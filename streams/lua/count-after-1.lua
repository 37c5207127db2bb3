--[[
  How many entries of a stream have an ID above a given one, counted inside Redis (there
  is no XCOUNT), a page at a time, stopping at a cap so that a reading never holds Redis
  for long: the archive lag an operator sees is exact below the cap, "at least" above it.

  KEYS[1] the stream
  ARGV[1] the ID counted after (exclusive)
  ARGV[2] the cap

  Returns the count, at most the cap.
]]
local cap = tonumber(ARGV[2])
local from = '(' .. ARGV[1]
local n = 0
while n < cap do
  local page = redis.call('XRANGE', KEYS[1], from, '+', 'COUNT', math.min(1000, cap - n))
  n = n + #page
  if #page < 1000 then break end
  from = '(' .. page[#page][1]
end
return n
