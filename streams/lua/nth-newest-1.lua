--[[
  The ID of a stream's N-th newest entry (the oldest one a "keep the newest N" retention
  keeps), read inside Redis so that only the ID crosses the network.

  KEYS[1] the stream
  ARGV[1] N (>= 1)

  Returns the ID, or false when the stream holds fewer than N entries.
]]
local n = tonumber(ARGV[1])
local r = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', n)
if #r < n then return false end
return r[#r][1]
